import Foundation
import XCTest

/// Runs the built `senet-gpu` binary the way a user does and checks its output and exit codes.
final class CLITests: XCTestCase {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The binary SwiftPM built next to this test bundle.
    static var binary: URL {
        // On Linux the bundle URL is the products directory; on macOS it is the .xctest inside it.
        let bundle = Bundle(for: CLITests.self).bundleURL
        let candidate = bundle.appendingPathComponent("senet-gpu")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        return bundle.deletingLastPathComponent().appendingPathComponent("senet-gpu")
    }

    func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["SENET_GPU_CACHE"] = "off"
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    func hasOpenCL() throws -> Bool {
        let result = try run(["devices"])
        if result.status != 0 && result.stderr.contains("no OpenCL platform") {
            throw XCTSkip("no OpenCL platform on this host (install pocl-opencl-icd); CLI device tests skipped")
        }
        return true
    }

    // MARK: - devices

    func testDevicesListsADeviceAsTextAndJSON() throws {
        _ = try hasOpenCL()
        let text = try run(["devices"])
        XCTAssertEqual(text.status, 0)
        XCTAssertTrue(text.stdout.hasPrefix("[0] "), text.stdout)
        for field in ["platform:", "driver:", "compute units:", "memory:", "work-group size:", "fp16 / fp64:"] {
            XCTAssertTrue(text.stdout.contains(field), "missing \(field)")
        }
        let json = try run(["devices", "--json"])
        XCTAssertEqual(json.status, 0)
        let entries = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(entries?.first?["index"] as? Int, 0)
        XCTAssertNotNil(entries?.first?["driverVersion"] as? String)
        XCTAssertGreaterThan(entries?.first?["computeUnits"] as? Int ?? 0, 0)
    }

    func testNoPlatformGivesInstallHint() throws {
        // An empty vendor directory makes the ICD loader find no platform.
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("senet-gpu-no-icd-\(UUID())")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let result = try run(["devices"], environment: ["OCL_ICD_VENDORS": empty.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("no OpenCL platform found"), result.stderr)
        XCTAssertTrue(result.stderr.contains("pocl-opencl-icd"), result.stderr)
        XCTAssertEqual(result.stdout, "")
    }

    // MARK: - selfcheck

    func testSelfCheckPassesOnDeviceZero() throws {
        _ = try hasOpenCL()
        let result = try run(["selfcheck", "--device", "0"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("12/12 passed"), result.stdout)
    }

    func testBadDeviceIndexListsDevices() throws {
        _ = try hasOpenCL()
        let result = try run(["selfcheck", "--device", "99"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("device 99 does not exist; available: #0 "), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line")
    }

    func testBrokenKernelShowsBuildLog() throws {
        _ = try hasOpenCL()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("senet-gpu-kernels-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "__kernel void conv2d_direct() { undefined_symbol; }"
            .write(to: directory.appendingPathComponent("conv_direct.cl"), atomically: true, encoding: .utf8)
        let result = try run(["selfcheck", "--kernels", directory.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("conv_direct.cl failed to build"), result.stderr)
        XCTAssertTrue(result.stderr.contains("undefined_symbol"), result.stderr)
    }
}
