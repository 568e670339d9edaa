import Foundation
import XCTest

/// What one run of the binary printed and returned.
public struct CLIResult {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// The `senet-gpu` binary SwiftPM built next to the test bundle.
public var cliBinary: URL {
    // On Linux the bundle URL is the products directory; on macOS it is the .xctest inside it.
    let bundle = Bundle(for: BundleMarker.self).bundleURL
    let candidate = bundle.appendingPathComponent("senet-gpu")
    if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    return bundle.deletingLastPathComponent().appendingPathComponent("senet-gpu")
}

/// Runs `senet-gpu arguments…` with the kernel disk cache off, as a user would.
public func runCLI(_ arguments: [String], environment extra: [String: String] = [:]) throws -> CLIResult {
    let process = Process()
    process.executableURL = cliBinary
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
    // Read both pipes concurrently so a full stderr pipe cannot stall the child.
    let stderrBox = DataBox()
    let reader = Thread { stderrBox.data = err.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return CLIResult(
        status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
        stderr: String(decoding: stderrBox.data, as: UTF8.self))
}

/// Skips, saying why, only when the host has no OpenCL platform at all.
public func skipWithoutOpenCL() throws {
    let result = try runCLI(["devices"])
    if result.status != 0 && result.stderr.contains("no OpenCL platform") {
        if ProcessInfo.processInfo.environment["CI"] != nil {
            XCTFail("no OpenCL platform on CI: the CLI device tests cannot run (install pocl-opencl-icd)")
        }
        throw XCTSkip("no OpenCL platform on this host (install pocl-opencl-icd); CLI device tests skipped")
    }
}

/// Skips, naming the device count, unless the host has at least `count` OpenCL devices (a
/// fresh host with only PoCL has one). CI installs Intel's runtime as a second device
/// (scripts/install-intel-opencl.sh), so there, with `CI` set, too few devices fail instead.
public func requireOpenCLDevices(_ count: Int) throws {
    try skipWithoutOpenCL()
    let devices = try runCLI(["devices", "--json"])
    XCTAssertEqual(devices.status, 0, devices.stderr)
    let found = (try JSONSerialization.jsonObject(with: Data(devices.stdout.utf8)) as? [Any])?.count ?? 0
    guard found < count else { return }
    let message = "this test needs \(count) OpenCL devices and the host has \(found)"
    if ProcessInfo.processInfo.environment["CI"] != nil {
        XCTFail("\(message): CI installs a second one (scripts/install-intel-opencl.sh)")
    }
    throw XCTSkip("\(message); scripts/install-intel-opencl.sh adds Intel's CPU runtime as a second")
}

/// Holds what the reader thread collected; read only after the thread finished.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}

/// Any class of this module, to find the products directory.
private final class BundleMarker {}
