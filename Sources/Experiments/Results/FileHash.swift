import Crypto
import Foundation

/// SHA-256 of model and task files (swift-crypto's), as lower-case hex. A run records the hash
/// of every model it reads; every shard of a run reads the same multi-gigabyte file, so a
/// file's hash is computed once and remembered, keyed by (path, size, modification time), in
/// `$LLAMACL_HASH_CACHE` (default `~/.cache/llamacl/file-hashes.json`).
public enum FileHash {
    public static func sha256(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    /// The file's SHA-256, from the cache when the file has not changed since it was hashed.
    public static func sha256(fileAt path: String) throws -> String {
        let key = try CacheKey(path: path)
        var cache = Cache.load()
        if let known = cache.entries[key.path], known.size == key.size, known.modified == key.modified { return known.sha256 }
        let digest = try compute(fileAt: path)
        cache.entries[key.path] = .init(size: key.size, modified: key.modified, sha256: digest)
        cache.save()   // a cache that cannot be written only costs the next run a rehash
        return digest
    }

    /// Streams the file through SHA-256 in 8 MiB reads.
    public static func compute(fileAt path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ExperimentError.fileUnreadable(path: path, reason: "cannot open it to compute its SHA-256")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 8 << 20) ?? Data() } catch {
                throw ExperimentError.fileUnreadable(path: path, reason: "read failed while hashing: \(error.localizedDescription)")
            }
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
        }
        return hex(hasher.finalize())
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    /// What identifies one version of a file: its absolute path, size and modification time.
    struct CacheKey {
        let path: String, size: Int, modified: Double
        init(path: String) throws {
            let absolute = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            let attributes: [FileAttributeKey: Any]
            do { attributes = try FileManager.default.attributesOfItem(atPath: absolute) } catch {
                throw ExperimentError.fileUnreadable(path: path, reason: "no such file")
            }
            self.path = absolute
            size = (attributes[.size] as? NSNumber)?.intValue ?? -1
            modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
        }
    }

    struct Cache: Codable {
        struct Entry: Codable { var size: Int; var modified: Double; var sha256: String }
        var entries: [String: Entry] = [:]

        static var url: URL {
            if let path = ProcessInfo.processInfo.environment["LLAMACL_HASH_CACHE"], !path.isEmpty { return URL(fileURLWithPath: path) }
            return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/llamacl/file-hashes.json")
        }

        static func load() -> Cache {
            guard let data = try? Data(contentsOf: url), let cache = try? JSONDecoder().decode(Cache.self, from: data) else { return Cache() }
            return cache
        }

        /// Written to a temporary file and renamed, so shards updating it at once never leave a torn file.
        func save() {
            let url = Self.url
            try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard let data = try? JSONEncoder().encode(self) else { return }
            try? ResultStore.writeAtomically(data, to: url)
        }
    }
}
