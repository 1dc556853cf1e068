import Foundation

/// The server's counters and gauges, rendered in Prometheus' text format for GET /metrics.
/// Written by the engine thread and the handlers, read by /metrics: one lock guards it all.
public final class Metrics: @unchecked Sendable {
    /// Upper bounds (seconds) of the time-to-first-token histogram buckets.
    static let ttftBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    /// Window of the tokens/s gauge.
    static let rateWindow: TimeInterval = 10

    private let lock = NSLock()
    private var httpRequests: [String: Int] = [:]   // "endpoint|code" → count
    private var promptTokens = 0
    private var generatedTokens = 0
    private var recent: [(time: Date, total: Int)] = []
    private var ttftCounts = [Int](repeating: 0, count: ttftBuckets.count)
    private var ttftSum = 0.0
    private var ttftCount = 0
    // Gauges the engine publishes after each step.
    private var waitingRequests = 0
    private var runningRequests = 0
    private var liveSequences = 0
    private var cellsInUse = 0
    private var cellsTotal = 0

    public init() {}

    func countHTTP(endpoint: String, status: Int) {
        lock.lock(); httpRequests["\(endpoint)|\(status)", default: 0] += 1; lock.unlock()
    }

    func addPromptTokens(_ n: Int) { lock.lock(); promptTokens += n; lock.unlock() }

    func observeTTFT(_ seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        ttftSum += seconds; ttftCount += 1
        for (i, bound) in Self.ttftBuckets.enumerated() where seconds <= bound { ttftCounts[i] += 1 }
    }

    /// The engine's state after a step (`generated`: tokens produced in it).
    func publish(generated: Int, waiting: Int, running: Int, sequences: Int, cellsInUse: Int, cellsTotal: Int, now: Date = Date()) {
        lock.lock(); defer { lock.unlock() }
        generatedTokens += generated
        if generated > 0 || recent.isEmpty { recent.append((now, generatedTokens)) }
        while let first = recent.first, now.timeIntervalSince(first.time) > Self.rateWindow, recent.count > 1 { recent.removeFirst() }
        waitingRequests = waiting; runningRequests = running; liveSequences = sequences
        self.cellsInUse = cellsInUse; self.cellsTotal = cellsTotal
    }

    /// Generated tokens per second over the last `rateWindow` seconds (0 when idle that long).
    func tokensPerSecond(now: Date = Date()) -> Double {
        guard let first = recent.first, let last = recent.last, now.timeIntervalSince(last.time) <= Self.rateWindow else { return 0 }
        let span = max(now.timeIntervalSince(first.time), 1e-3)
        return Double(last.total - first.total) / span
    }

    public var kvCellsInUse: Int { lock.lock(); defer { lock.unlock() }; return cellsInUse }

    /// Prometheus text exposition format 0.0.4.
    public func render(now: Date = Date()) -> String {
        lock.lock(); defer { lock.unlock() }
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for s in samples { out += "\(name)\(s.labels) \(s.value)\n" }
        }
        metric("llamacl_http_requests_total", "counter", "HTTP requests answered, by endpoint and status code.",
               httpRequests.sorted { $0.key < $1.key }.map { key, n in
                   let parts = key.split(separator: "|", maxSplits: 1)
                   return ("{endpoint=\"\(parts[0])\",code=\"\(parts[1])\"}", "\(n)")
               })
        metric("llamacl_prompt_tokens_total", "counter", "Prompt tokens of accepted generation requests.", [("", "\(promptTokens)")])
        metric("llamacl_generated_tokens_total", "counter", "Tokens generated, all samples together.", [("", "\(generatedTokens)")])
        metric("llamacl_generated_tokens_per_second", "gauge", "Generation rate over the last \(Int(Self.rateWindow)) seconds.",
               [("", String(format: "%.3f", tokensPerSecond(now: now)))])
        metric("llamacl_requests_waiting", "gauge", "Queue depth: accepted requests that have not produced a token yet.", [("", "\(waitingRequests)")])
        metric("llamacl_requests_running", "gauge", "Requests producing tokens.", [("", "\(runningRequests)")])
        metric("llamacl_sequences_running", "gauge", "Samples decoding in the batch.", [("", "\(liveSequences)")])
        metric("llamacl_kv_cells_in_use", "gauge", "KV cache cells holding tokens.", [("", "\(cellsInUse)")])
        metric("llamacl_kv_cells_total", "gauge", "KV cache cells in all.", [("", "\(cellsTotal)")])
        var buckets: [(String, String)] = zip(Self.ttftBuckets, ttftCounts).map { ("{le=\"\($0)\"}", "\($1)") }
        buckets.append(("{le=\"+Inf\"}", "\(ttftCount)"))
        out += "# HELP llamacl_time_to_first_token_seconds Time from accepting a request to its first token.\n"
        out += "# TYPE llamacl_time_to_first_token_seconds histogram\n"
        for (labels, v) in buckets { out += "llamacl_time_to_first_token_seconds_bucket\(labels) \(v)\n" }
        out += "llamacl_time_to_first_token_seconds_sum \(String(format: "%.6f", ttftSum))\n"
        out += "llamacl_time_to_first_token_seconds_count \(ttftCount)\n"
        if let rss = residentMemoryBytes() {
            metric("process_resident_memory_bytes", "gauge", "Resident memory of the server process.", [("", "\(rss)")])
        }
        return out
    }
}

/// This process's resident set size, from /proc (Linux); nil elsewhere.
func residentMemoryBytes() -> Int? {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let fields = statm.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
