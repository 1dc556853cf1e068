import ArgumentParser
import Foundation
import OpenCLBackend

/// Lists OpenCL platforms and their devices: what `--device` can select.
struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List OpenCL platforms and devices (select one with --device N or a name).")

    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let devices = try Device.list()
        var platforms: [String] = []
        for d in devices where !platforms.contains(d.platformName) { platforms.append(d.platformName) }
        if json {
            let out = platforms.map { p -> [String: Any] in
                let members = devices.filter { $0.platformName == p }
                return ["name": p, "version": members[0].platformVersion, "devices": members.map(describe)]
            }
            print(try jsonLine(["platforms": out]))
            return
        }
        for p in platforms {
            let members = devices.filter { $0.platformName == p }
            print("Platform: \(p) (\(members[0].platformVersion))")
            for d in members {
                print("  [\(d.index)] \(d.name) — \(d.kind), \(d.vendor)")
                print("      global memory \(formatBytes(d.globalMemory)), max allocation \(formatBytes(d.maxAllocation)), "
                      + "\(d.computeUnits) compute units, fp16 \(d.supportsFP16 ? "yes" : "no")")
                print("      \(d.openCLCVersion), device \(d.deviceVersion), driver \(d.driverVersion)")
            }
        }
    }

    private func describe(_ d: DeviceInfo) -> [String: Any] {
        ["index": d.index, "name": d.name, "vendor": d.vendor, "type": d.kind, "global_memory": d.globalMemory,
         "max_allocation": d.maxAllocation, "compute_units": d.computeUnits, "max_work_group_size": d.maxWorkGroupSize,
         "local_memory": d.localMemory, "fp16": d.supportsFP16, "opencl_c_version": d.openCLCVersion,
         "device_version": d.deviceVersion, "driver_version": d.driverVersion]
    }
}
