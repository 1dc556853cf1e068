import GGUF
import LlamaCore

/// What a model needs on the device, buffer by buffer, computed from the GGUF header alone,
/// so `load` can refuse early with a message that says how much is needed and how much there is.
public struct MemoryRequirement: Sendable {
    public struct Item: Sendable {
        public let label: String
        /// Size of each buffer (what CL_DEVICE_MAX_MEM_ALLOC_SIZE limits).
        public let bytesEach: Int
        public let count: Int
        /// Saturates at Int.max: a size that large can only be refused, never allocated.
        public var bytes: Int { saturatingProduct(bytesEach, count) }

        /// K and V of every layer, one buffer each (see `OpenCLBackend.makeKVCache`).
        static func kvCache(layers: Int, cells: Int, kvDim: Int) -> Item {
            Item(label: "KV cache (\(cells) cache cells, K and V of \(layers) layers × \(kvDim) floats)",
                 bytesEach: saturatingProduct(cells, kvDim, 4), count: 2 * layers)
        }
    }

    public var items: [Item]
    public var total: Int { items.reduce(0) { $0.addingReportingOverflow($1.bytes).overflow ? .max : $0 + $1.bytes } }

    /// The KV cache alone: what `makeKVCache` checks against the memory left on the device.
    public init(kvCacheLayers layers: Int, cells: Int, kvDim: Int) {
        items = [.kvCache(layers: layers, cells: cells, kvDim: kvDim)]
    }

    /// `batchRows`: the largest batch the activations are sized for (a prompt chunk).
    public init(gguf: GGUFFile, config c: ModelConfig, cacheCells: Int, batchRows: Int = 512, scratchBytes: Int = 64 << 20) {
        var items: [Item] = []
        var largestMatrix = 0
        for t in gguf.tensors {
            // Vectors are stored as F32 on the device (see OpenCLWeight), matrices as in the file.
            let bytes = t.rowCount == 1 ? t.elementCount * 4 : t.byteCount
            if t.rowCount > 1 { largestMatrix = max(largestMatrix, t.elementCount * 4) }
            items.append(Item(label: "weight \(t.name)", bytesEach: bytes, count: 1))
        }
        // Sizes from a request (cacheCells) saturate rather than overflow, so that an absurd
        // request is refused by `checkFits` instead of trapping here.
        items.append(.kvCache(layers: c.layers, cells: cacheCells, kvDim: c.kvDim))
        let rows = max(1, min(batchRows, cacheCells))
        let perRow = 3 * c.dim + 2 * c.qDim + 2 * c.kvDim + 2 * c.ffnDim + c.vocabSize
        items.append(Item(label: "activations (\(rows) rows)", bytesEach: rows * perRow * 4, count: 1))
        items.append(Item(label: "GEMM dequantization scratch (two buffers, in turn)", bytesEach: min(scratchBytes, largestMatrix), count: 2))
        items.append(Item(label: "attention score scratch", bytesEach: min(scratchBytes, saturatingProduct(rows, c.heads, cacheCells, 4)), count: 1))
        // Decode's split-K partials: (Dh + 2) floats per row (at most 4), head and chunk of 256
        // cells (Options.attentionChunk's default; a smaller chunk asks for more when it runs).
        items.append(Item(label: "decode attention partials", bytesEach: saturatingProduct(4, c.heads, (cacheCells + 255) / 256, c.headDim + 2, 4), count: 1))
        self.items = items
    }

    /// Weights, KV cache and the rest, for messages (the parts that are there).
    public var summary: String {
        let weights = items.filter { $0.label.hasPrefix("weight ") }.reduce(0) { $0 + $1.bytes }
        let kv = items.filter { $0.label.hasPrefix("KV cache") }
        let kvBytes = kv.reduce(0) { $0 + $1.bytes }
        let rest = total - weights - kvBytes
        var parts: [String] = []
        if weights > 0 { parts.append("weights \(byteString(weights))") }
        if let label = kv.first?.label { parts.append("\(label) \(byteString(kvBytes))") }
        if rest > 0 { parts.append("activations and scratch \(byteString(rest))") }
        return parts.joined(separator: ", ")
    }
}

/// a · b · …, or Int.max when that does not fit (sizes here are non-negative).
func saturatingProduct(_ factors: Int...) -> Int {
    var p = 1
    for f in factors {
        let (r, overflow) = p.multipliedReportingOverflow(by: f)
        if overflow { return .max }
        p = r
    }
    return p
}

extension OpenCLBackend {
    /// Throws `allocationTooLarge` if any one buffer exceeds the device's largest allocation, or
    /// `insufficientMemory` if everything together exceeds what is left of the device memory
    /// (or of the injected `Options.memoryLimit`).
    public func checkFits(_ requirement: MemoryRequirement) throws {
        for item in requirement.items where item.bytesEach > ledger.maxAllocation {
            throw OpenCLError.allocationTooLarge(device: device.info.name, buffer: item.label, bytes: item.bytesEach, maxAllocation: ledger.maxAllocation)
        }
        let available = ledger.budget - ledger.used
        guard requirement.total <= available else {
            throw OpenCLError.insufficientMemory(device: device.info.name, needed: requirement.total, available: available, detail: requirement.summary)
        }
    }

    /// The check for a model file, with the cache size it will be run with.
    public func checkFits(gguf: GGUFFile, config: ModelConfig, cacheCells: Int) throws {
        try checkFits(MemoryRequirement(gguf: gguf, config: config, cacheCells: cacheCells, scratchBytes: options.scratchBytes))
    }
}
