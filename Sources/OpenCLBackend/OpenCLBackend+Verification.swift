import GGUF
import Kernels

/// Kernels that no `Backend` op exposes on its own, run alone for verify's op checks: each is
/// compared with its reference op (CPUBackend's ReferenceOps) on the host.
extension OpenCLBackend {
    /// Every kernel of the embedded program (kernels/*.cl), by name.
    public static var kernelNames: [String] { KernelSources.kernelNames }

    /// `dequantize_rows`: the whole of W decoded to F32 on the device and read back.
    public func dequantizedWeight(_ w: OpenCLWeight) throws -> [Float] {
        if w.isVector { return w.hostValues! }
        let dense = try allocate(w.rows * w.cols * 4, "dequantized \(w.name)")
        try dequantize(w, rows: 0..<w.rows, into: dense, half: false)
        return try dense.readFloats(count: w.rows * w.cols)
    }

    /// `dequantize_rows_half`: the whole of W decoded and rounded to F16 on the device (HGEMM's
    /// input), as half bits. Vectors are F32 on the device, so this is a matrix's check.
    public func dequantizedWeightHalf(_ w: OpenCLWeight) throws -> [UInt16] {
        let dense = try allocate(w.rows * w.cols * 2, "dequantized \(w.name) (F16)")
        try dequantize(w, rows: 0..<w.rows, into: dense, half: true)
        return try dense.read(UInt16.self, count: w.rows * w.cols)
    }

    /// `f32_to_f16` over `values`: half bits (vstore_half_rte is core OpenCL C, so every device
    /// runs it, with or without cl_khr_fp16).
    public func convertedToHalf(_ values: [Float]) throws -> [UInt16] {
        guard !values.isEmpty else { return [] }
        let x = try allocate(values.count * 4, "convert: F32 in"), out = try allocate(values.count * 2, "convert: F16 out")
        try x.write(values)
        try kernels.toHalf.launch([.buffer(out), .buffer(x), .int(values.count)], global: [values.count])
        return try out.read(UInt16.self, count: values.count)
    }

    /// `f16_to_f32` over half bits `halves` (vload_half, core OpenCL C like the above).
    public func convertedFromHalf(_ halves: [UInt16]) throws -> [Float] {
        guard !halves.isEmpty else { return [] }
        let x = try allocate(halves.count * 2, "convert: F16 in"), out = try allocate(halves.count * 4, "convert: F32 out")
        try x.write(halves)
        try kernels.fromHalf.launch([.buffer(out), .buffer(x), .int(halves.count)], global: [halves.count])
        return try out.readFloats(count: halves.count)
    }
}
