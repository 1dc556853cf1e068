import CCLBlast
import COpenCL

/// The two CLBlast routines we use (each counted as one launch in `RuntimeCounters`; CLBlast
/// may run more than one kernel inside), row-major: C[m, n] = A[m, k] · B[n, k]ᵀ, i.e. activations
/// times a weight stored [out, in] as GGUF has it. C is written at `cOffset` with row stride
/// `ldc`, so a weight can be multiplied in chunks of its rows.
enum CLBlast {
    @discardableResult
    static func sgemm(device: Device, m: Int, n: Int, k: Int, a: Buffer, b: Buffer,
                      c: Buffer, cOffset: Int, ldc: Int, returningEvent: Bool = false) throws -> cl_event? {
        var q: cl_command_queue? = device.queue
        var event: cl_event? = nil
        let status = withUnsafeMutablePointer(to: &event) { e in CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes,
                                  m, n, k, 1, a.mem, 0, k, b.mem, 0, k, 0, c.mem, cOffset, ldc, &q, (device.profiling || returningEvent) ? e : nil) }
        try check(status, "SGEMM \(m)×\(n)×\(k)")
        return device.gemmLaunched("CLBlast SGEMM", event: event, returningEvent: returningEvent)
    }

    /// Same on F16 storage (cl_khr_fp16 devices only); alpha = 1, beta = 0 as IEEE half bits.
    @discardableResult
    static func hgemm(device: Device, m: Int, n: Int, k: Int, a: Buffer, b: Buffer,
                      c: Buffer, cOffset: Int, ldc: Int, returningEvent: Bool = false) throws -> cl_event? {
        var q: cl_command_queue? = device.queue
        var event: cl_event? = nil
        let one: cl_half = 0x3C00, zero: cl_half = 0
        let status = withUnsafeMutablePointer(to: &event) { e in CLBlastHgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes,
                                  m, n, k, one, a.mem, 0, k, b.mem, 0, k, zero, c.mem, cOffset, ldc, &q, (device.profiling || returningEvent) ? e : nil) }
        try check(status, "HGEMM \(m)×\(n)×\(k)")
        return device.gemmLaunched("CLBlast HGEMM", event: event, returningEvent: returningEvent)
    }

    private static func check(_ status: CLBlastStatusCode, _ routine: String) throws {
        guard status != CLBlastSuccess else { return }
        let code = status.rawValue
        let name = StatusNames.clblast[code] ?? StatusNames.openCL[code] ?? "unknown CLBlast status"
        throw OpenCLError.clblast(routine: routine, code: code, name: name)
    }
}
