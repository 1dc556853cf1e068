import COpenCL

/// Why the OpenCL backend could not do what was asked. Messages name the call, the `CL_*`
/// status, the device, and for memory the bytes needed and available.
public enum OpenCLError: Error, CustomStringConvertible, Equatable {
    /// An OpenCL call returned a status other than CL_SUCCESS.
    case status(call: String, code: Int32, name: String)
    /// No OpenCL platform (ICD) is installed, or none has a device.
    case noPlatform(detail: String)
    /// `--device` / LLAMACL_DEVICE matched nothing; `available` lists what there is.
    case deviceNotFound(selector: String, available: [String])
    /// The kernel source did not compile; `log` is the driver's build log.
    case buildFailed(device: String, options: String, log: String)
    /// The model and run state need more device memory than the device has.
    case insufficientMemory(device: String, needed: Int, available: Int, detail: String)
    /// One buffer is larger than CL_DEVICE_MAX_MEM_ALLOC_SIZE.
    case allocationTooLarge(device: String, buffer: String, bytes: Int, maxAllocation: Int)
    /// A CLBlast routine failed.
    case clblast(routine: String, code: Int32, name: String)
    /// The input cannot be handled (shape, type, capacity), with the reason.
    case unsupported(String)

    public var description: String {
        switch self {
        case let .status(call, code, name):
            return "OpenCL call \(call) failed with \(name) (\(code))"
        case let .noPlatform(detail):
            return "no OpenCL platform found (\(detail)); install a driver (ICD), e.g. pocl-opencl-icd for the CPU, and check /etc/OpenCL/vendors"
        case let .deviceNotFound(selector, available):
            let list = available.isEmpty ? "none" : available.joined(separator: "; ")
            return "no OpenCL device matches '\(selector)' (give an index or a name substring); available: \(list)"
        case let .buildFailed(device, options, log):
            return "OpenCL program failed to build on \(device) (options: '\(options)'):\n\(log)"
        case let .insufficientMemory(device, needed, available, detail):
            return "not enough device memory on \(device): needs \(byteString(needed)), the device has \(byteString(available)) (\(detail))"
        case let .allocationTooLarge(device, buffer, bytes, maxAllocation):
            return "buffer '\(buffer)' needs \(byteString(bytes)) but \(device) allows at most \(byteString(maxAllocation)) per allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE)"
        case let .clblast(routine, code, name):
            return "CLBlast \(routine) failed with \(name) (\(code))"
        case let .unsupported(reason):
            return "OpenCL backend: \(reason)"
        }
    }
}

/// The `CL_*` name of a status code ("CL_UNKNOWN_STATUS" for codes no header defines).
public func openCLStatusName(_ code: Int32) -> String {
    StatusNames.openCL[code] ?? "CL_UNKNOWN_STATUS"
}

/// Throws a typed error naming `call` and the status when `status` is not CL_SUCCESS.
@inline(__always) func check(_ status: cl_int, _ call: @autoclosure () -> String) throws {
    guard status != CL_SUCCESS else { return }
    throw OpenCLError.status(call: call(), code: status, name: openCLStatusName(status))
}

/// Human-readable byte counts for error messages.
func byteString(_ n: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n), i = 0
    while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
    if i == 0 { return "\(n) B" }
    let rounded = (v * 100).rounded() / 100
    return "\(rounded) \(units[i]) (\(n) bytes)"
}
