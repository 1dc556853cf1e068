import Foundation
import OpenCLBackend
import XCTest

/// The OpenCL backend for a test. With no OpenCL platform the test is skipped, except in CI
/// (CI=true), where that is a failure: CI installs PoCL precisely so these tests run.
func makeOpenCL(_ options: OpenCLBackend.Options = .init(), file: StaticString = #filePath, line: UInt = #line) throws -> OpenCLBackend {
    do {
        return try OpenCLBackend(options: options)
    } catch let error as OpenCLError {
        if case .noPlatform = error {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("\(error)", file: file, line: line) }
            throw XCTSkip("\(error)")
        }
        throw error
    }
}

/// One backend per test process: building the kernels (and CLBlast's) costs seconds on PoCL.
let sharedOpenCL: Result<OpenCLBackend, Error> = Result { try OpenCLBackend() }

func openCL(file: StaticString = #filePath, line: UInt = #line) throws -> OpenCLBackend {
    switch sharedOpenCL {
    case let .success(b): return b
    case .failure: return try makeOpenCL(file: file, line: line)
    }
}
