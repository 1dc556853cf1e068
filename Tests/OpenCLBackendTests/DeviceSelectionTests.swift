@testable import OpenCLBackend
import XCTest

/// Device selection rules on made-up device lists (no driver needed).
final class DeviceSelectionTests: XCTestCase {
    func device(_ index: Int, _ name: String, kind: String, platform: String = "Test Platform") -> DeviceInfo {
        DeviceInfo(index: index, platformName: platform, platformVersion: "OpenCL 3.0", name: name, vendor: "Vendor \(index)", kind: kind,
                   deviceVersion: "OpenCL 3.0", driverVersion: "1", openCLCVersion: "OpenCL C 1.2", globalMemory: 1 << 30,
                   maxAllocation: 1 << 28, computeUnits: 4, maxWorkGroupSize: 256, localMemory: 1 << 15, extensions: [])
    }

    func testNoDevicesIsNoPlatform() {
        XCTAssertThrowsError(try Device.select(nil, from: [])) { error in
            guard case OpenCLError.noPlatform = error else { return XCTFail("got \(error)") }
            XCTAssertTrue("\(error)".contains("no OpenCL platform"))
        }
    }

    func testDefaultPrefersTheFirstGPU() throws {
        let list = [device(0, "pthread CPU", kind: "CPU"), device(1, "NVIDIA H100", kind: "GPU"), device(2, "Other GPU", kind: "GPU")]
        XCTAssertEqual(try Device.select(nil, from: list).index, 1)
        XCTAssertEqual(try Device.select(nil, from: [list[0]]).index, 0)
    }

    func testIndexAndNameSubstring() throws {
        let list = [device(0, "pthread CPU", kind: "CPU"), device(1, "NVIDIA H100 80GB HBM3", kind: "GPU", platform: "NVIDIA CUDA")]
        XCTAssertEqual(try Device.select("0", from: list).index, 0)
        XCTAssertEqual(try Device.select("h100", from: list).index, 1)
        XCTAssertEqual(try Device.select("cuda", from: list).index, 1, "platform names match too")
        XCTAssertThrowsError(try Device.select("2", from: list)) { error in
            XCTAssertTrue("\(error)".contains("1: NVIDIA H100"), "the error lists what there is: \(error)")
        }
    }
}
