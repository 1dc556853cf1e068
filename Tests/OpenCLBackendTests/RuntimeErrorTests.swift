import Foundation
import GGUF
import LlamaCore
import OpenCLBackend
import TestSupport
import XCTest

/// The runtime's failure modes: each is a typed error that says what went wrong.
final class RuntimeErrorTests: XCTestCase {
    func testBrokenKernelReportsBuildLog() throws {
        _ = try openCL()   // skip (or fail in CI) first when there is no platform at all
        let broken = "kernel void broken(global float* x) { x[0] = no_such_variable; }"
        XCTAssertThrowsError(try OpenCLBackend(options: .init(kernelCacheDirectory: nil, extraKernelSource: broken))) { error in
            guard case let OpenCLError.buildFailed(_, _, log) = error else { return XCTFail("expected buildFailed, got \(error)") }
            XCTAssertTrue(log.contains("no_such_variable"), "build log should name the culprit: \(log)")
            XCTAssertTrue("\(error)".contains("failed to build"))
        }
    }

    func testModelLargerThanDeviceMemory() throws {
        _ = try openCL()
        let gguf = try GGUFFile(path: try Fixtures.require("models/tiny-spm-f32.gguf"))   // ~34 MB, largest tensor ~16 MB
        let config = try ModelConfig(gguf: gguf)
        let small = try makeOpenCL(.init(memoryLimit: 20 << 20))
        XCTAssertThrowsError(try small.checkFits(gguf: gguf, config: config, cacheCells: 64)) { error in
            guard case let OpenCLError.insufficientMemory(_, needed, available, _) = error else { return XCTFail("got \(error)") }
            XCTAssertGreaterThan(needed, 34_000_000)
            XCTAssertLessThanOrEqual(available, 20 << 20)
            XCTAssertTrue("\(error)".contains("needs"), "\(error)")
        }
        // Loading anyway fails in the allocator with the same kind of error, not in the driver.
        XCTAssertThrowsError(try Transformer(gguf: gguf, backend: small, cacheCells: 64)) { error in
            guard case OpenCLError.insufficientMemory = error else { return XCTFail("got \(error)") }
        }
        let tiny = try makeOpenCL(.init(memoryLimit: 4 << 20))
        XCTAssertThrowsError(try tiny.checkFits(gguf: gguf, config: config, cacheCells: 64)) { error in
            guard case OpenCLError.allocationTooLarge = error else { return XCTFail("got \(error)") }
        }
    }

    /// The KV cache lives on the device, so it is checked against the device's memory (the
    /// ledger, or the injected limit), not the host's: a typed error naming the cache cells.
    func testKVCacheLargerThanDeviceMemory() throws {
        _ = try openCL()
        let small = try makeOpenCL(.init(memoryLimit: 8 << 20))
        // 2 × 8 buffers of 4096 cells × 64 floats: 1 MiB each, 16 MiB in all
        XCTAssertThrowsError(try small.makeKVCache(layers: 8, cells: 4096, kvDim: 64)) { error in
            guard case OpenCLError.insufficientMemory = error else { return XCTFail("got \(error)") }
            XCTAssertTrue("\(error)".contains("4096 cache cells"), "\(error)")
        }
        XCTAssertEqual(small.ledger.used, 16, "nothing allocated but the placeholder")
        // one buffer past the largest allocation, and a size that overflows Int
        for cells in [(8 << 20) / 256 + 1, Int.max] {
            XCTAssertThrowsError(try small.makeKVCache(layers: 1, cells: cells, kvDim: 64)) { error in
                guard case OpenCLError.allocationTooLarge = error else { return XCTFail("got \(error)") }
            }
        }
        let cache = try small.makeKVCache(layers: 2, cells: 64, kvDim: 64)
        XCTAssertEqual(cache.cells, 64)
        XCTAssertEqual(small.ledger.used, 16 + 4 * 64 * 64 * 4)
        // a cache belongs to its backend's context
        XCTAssertThrowsError(try openCL().readKV(cache, layer: 0))
    }

    func testBadDeviceSelection() throws {
        _ = try openCL()
        for selector in ["99", "-1", "no-such-device-anywhere"] {
            XCTAssertThrowsError(try Device(selector: selector)) { error in
                guard case let OpenCLError.deviceNotFound(s, available) = error else { return XCTFail("got \(error)") }
                XCTAssertEqual(s, selector)
                XCTAssertFalse(available.isEmpty, "the error lists the devices there are")
            }
        }
        XCTAssertNoThrow(try Device(selector: "0"))
    }

    func testStatusNames() {
        XCTAssertEqual(openCLStatusName(0), "CL_SUCCESS")
        XCTAssertEqual(openCLStatusName(-11), "CL_BUILD_PROGRAM_FAILURE")
        XCTAssertEqual(openCLStatusName(-54), "CL_INVALID_WORK_GROUP_SIZE")
        XCTAssertEqual(openCLStatusName(-1001), "CL_PLATFORM_NOT_FOUND_KHR")
        XCTAssertEqual(openCLStatusName(-12345), "CL_UNKNOWN_STATUS")
        for code in Int32(-72)...(-30) { XCTAssertNotEqual(openCLStatusName(code), "CL_UNKNOWN_STATUS", "code \(code)") }
        for code in Int32(-19)...0 { XCTAssertNotEqual(openCLStatusName(code), "CL_UNKNOWN_STATUS", "code \(code)") }
    }

    func testProgramBinaryCache() throws {
        let device = try openCL().device
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let compiler = Compiler(device: device, cacheDirectory: directory)
        let source = "kernel void twice(global float* x) { x[get_global_id(0)] *= 2.0f; }"
        XCTAssertFalse(try compiler.build(source: source).fromCache)
        XCTAssertTrue(try compiler.build(source: source).fromCache)
        // Other options or source: another key, so no stale binary.
        XCTAssertFalse(try compiler.build(source: source, options: "-DX=1").fromCache)
        XCTAssertNotEqual(compiler.cacheKey(source: source, options: ""), compiler.cacheKey(source: source + " ", options: ""))
        XCTAssertFalse(try Compiler(device: device, cacheDirectory: nil).build(source: source).fromCache)

        setenv(Compiler.noCacheEnvironmentKey, "1", 1)
        defer { unsetenv(Compiler.noCacheEnvironmentKey) }
        XCTAssertNil(Compiler.defaultCacheDirectory())
    }

    func testDeviceListDescribesDevices() throws {
        _ = try openCL()
        let devices = try Device.list()
        XCTAssertFalse(devices.isEmpty)
        for (i, d) in devices.enumerated() {
            XCTAssertEqual(d.index, i)
            XCTAssertGreaterThan(d.globalMemory, 0)
            XCTAssertGreaterThan(d.maxAllocation, 0)
            XCTAssertGreaterThan(d.computeUnits, 0)
            XCTAssertFalse(d.openCLCVersion.isEmpty)
        }
    }
}
