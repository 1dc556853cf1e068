import COpenCL
import Foundation

/// A built OpenCL program.
public final class Program {
    let program: cl_program
    let device: Device
    /// True when it came from the on-disk binary cache rather than a source build.
    public let fromCache: Bool

    init(program: cl_program, device: Device, fromCache: Bool) {
        self.program = program; self.device = device; self.fromCache = fromCache
    }

    deinit { clReleaseProgram(program) }
}

/// Builds OpenCL C source into programs for one device: the "Compiler" noun of the runtime.
/// A failed build throws `OpenCLError.buildFailed` with the driver's build log. Built binaries
/// are cached on disk, keyed by device name, device and driver version, build options and the
/// source itself, so a changed kernel, driver or device never loads a stale binary.
public final class Compiler {
    /// Set to 1 to build from source every time (and write nothing).
    public static let noCacheEnvironmentKey = "LLAMACL_NO_KERNEL_CACHE"

    public let device: Device
    /// nil: no cache.
    public let cacheDirectory: URL?

    public init(device: Device, cacheDirectory: URL? = Compiler.defaultCacheDirectory()) {
        self.device = device; self.cacheDirectory = cacheDirectory
    }

    /// `$XDG_CACHE_HOME/llamacl/kernels` or `~/.cache/llamacl/kernels`; nil when
    /// LLAMACL_NO_KERNEL_CACHE=1.
    public static func defaultCacheDirectory() -> URL? {
        let env = ProcessInfo.processInfo.environment
        if env[noCacheEnvironmentKey] == "1" { return nil }
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("llamacl/kernels")
    }

    /// The cache file name for `source` built with `options` on this device.
    public func cacheKey(source: String, options: String) -> String {
        let i = device.info
        let text = [i.name, i.vendor, i.deviceVersion, i.driverVersion, i.platformVersion, options, source].joined(separator: "\u{1}")
        return StableHash.hex128(text)
    }

    public func build(source: String, options: String = "") throws -> Program {
        let file = cacheDirectory?.appendingPathComponent(cacheKey(source: source, options: options) + ".bin")
        if let file, let binary = try? Data(contentsOf: file), let program = try? buildFromBinary(binary, options: options) {
            return Program(program: program, device: device, fromCache: true)
        }
        let program = try buildFromSource(source, options: options)
        if let file { storeBinary(of: program, at: file) }
        return Program(program: program, device: device, fromCache: false)
    }

    private func buildFromSource(_ source: String, options: String) throws -> cl_program {
        var status: cl_int = CL_SUCCESS
        let created: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            var length = strlen(text)
            return clCreateProgramWithSource(device.context, 1, &pointer, &length, &status)
        }
        try check(status, "clCreateProgramWithSource")
        guard let program = created else { throw OpenCLError.unsupported("clCreateProgramWithSource returned no program") }
        var ids: [cl_device_id?] = [device.id]
        let built = clBuildProgram(program, 1, &ids, options, nil, nil)
        if built != CL_SUCCESS {
            let log = (try? buildLog(program)) ?? "(no build log)"
            clReleaseProgram(program)
            if built == CL_BUILD_PROGRAM_FAILURE || built == CL_INVALID_BUILD_OPTIONS || built == CL_COMPILE_PROGRAM_FAILURE {
                throw OpenCLError.buildFailed(device: device.info.name, options: options,
                                              log: log.isEmpty ? "\(openCLStatusName(built)) with an empty build log" : log)
            }
            try check(built, "clBuildProgram")
        }
        return program
    }

    private func buildFromBinary(_ binary: Data, options: String) throws -> cl_program {
        var status: cl_int = CL_SUCCESS, binaryStatus: cl_int = CL_SUCCESS
        var ids: [cl_device_id?] = [device.id]
        let created: cl_program? = binary.withUnsafeBytes { raw in
            var pointer: UnsafePointer<UInt8>? = raw.bindMemory(to: UInt8.self).baseAddress
            var length = raw.count
            return clCreateProgramWithBinary(device.context, 1, &ids, &length, &pointer, &binaryStatus, &status)
        }
        guard let program = created, status == CL_SUCCESS, binaryStatus == CL_SUCCESS else {
            if let created { clReleaseProgram(created) }
            throw OpenCLError.status(call: "clCreateProgramWithBinary", code: status, name: openCLStatusName(status))
        }
        let built = clBuildProgram(program, 1, &ids, options, nil, nil)
        guard built == CL_SUCCESS else { clReleaseProgram(program); try check(built, "clBuildProgram(binary)"); return program }
        return program
    }

    private func buildLog(_ program: cl_program) throws -> String {
        var size = 0
        try check(clGetProgramBuildInfo(program, device.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size), "clGetProgramBuildInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try check(clGetProgramBuildInfo(program, device.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil), "clGetProgramBuildInfo")
        return String(cString: bytes).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Best effort: a cache that cannot be written only costs a rebuild next time.
    private func storeBinary(of program: cl_program, at file: URL) {
        var size = 0
        guard clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil) == CL_SUCCESS,
              size > 0 else { return }
        var binary = [UInt8](repeating: 0, count: size)
        let status: cl_int = binary.withUnsafeMutableBufferPointer { buf in
            var pointer: UnsafeMutablePointer<UInt8>? = buf.baseAddress
            return clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES), MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &pointer, nil)
        }
        guard status == CL_SUCCESS else { return }
        do {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            // Write then rename, so a concurrent reader never sees half a file.
            let temporary = file.appendingPathExtension("\(ProcessInfo.processInfo.processIdentifier).tmp")
            try Data(binary).write(to: temporary)
            if rename(temporary.path, file.path) != 0 { try? FileManager.default.removeItem(at: temporary) }
        } catch {}
    }
}

/// A hash that is the same in every process (Swift's `Hasher` is seeded per run): two FNV-1a
/// 64-bit passes with different offsets, for cache file names. Not for security.
enum StableHash {
    static func hex128(_ text: String) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in text.utf8 {
            a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
            b = (b ^ UInt64(byte)) &* 0x100_0000_01b3
            b = b ^ (b >> 29)
        }
        return String(a, radix: 16).leftPadded(16) + String(b, radix: 16).leftPadded(16)
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
