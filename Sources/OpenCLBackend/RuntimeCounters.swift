import COpenCL
import Foundation
import LlamaCore

/// What the runtime asked of the device, counted where it happens (Kernel.launch, Buffer
/// read/write, CLBlast calls, Device.finish), so `bench --profile` and the tests see the real
/// traffic rather than an estimate. With profiling on, every launch also keeps its event, and
/// the device time of finished launches is summed per kernel name.
public final class RuntimeCounters {
    public private(set) var launches = 0
    public private(set) var hostSyncs = 0
    public private(set) var bytesToDevice = 0
    public private(set) var bytesFromDevice = 0
    private var times: [String: BackendProfile.KernelTime] = [:]
    /// Events of launches not yet timed: read once the host has waited for the queue (then
    /// every one of them has finished, so reading their times never waits).
    private var pending: [(name: String, event: cl_event)] = []

    func launched(_ name: String, event: cl_event?) {
        launches += 1
        if let event { pending.append((name, event)) }
    }

    func wrote(_ bytes: Int) { bytesToDevice += bytes }
    func read(_ bytes: Int) { bytesFromDevice += bytes }

    /// The host has waited for everything queued so far (in-order queue): Device.synchronised.
    func synchronised() {
        hostSyncs += 1
        collectTimes()
    }

    private func collectTimes() {
        for (name, event) in pending {
            var start: cl_ulong = 0, end: cl_ulong = 0
            if clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START), 8, &start, nil) == CL_SUCCESS,
               clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END), 8, &end, nil) == CL_SUCCESS, end >= start {
                times[name, default: .init()].count += 1
                times[name, default: .init()].seconds += Double(end - start) * 1e-9
            }
            clReleaseEvent(event)
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// The counters as a profile (times of launches the host has not waited for yet are left out).
    var snapshot: BackendProfile {
        var p = BackendProfile()
        p.launches = launches; p.hostSyncs = hostSyncs
        p.bytesToDevice = bytesToDevice; p.bytesFromDevice = bytesFromDevice
        p.kernelTimes = times
        return p
    }

    func reset() {
        launches = 0; hostSyncs = 0; bytesToDevice = 0; bytesFromDevice = 0
        times = [:]
        for (_, event) in pending { clReleaseEvent(event) }
        pending = []
    }

    deinit { for (_, event) in pending { clReleaseEvent(event) } }
}
