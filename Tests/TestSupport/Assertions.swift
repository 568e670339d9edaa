@_exported import CoreTestSupport
import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages
import XCTest

/// The first OpenCL device, opened with the disk cache off (tests must not depend on it).
/// Skips, saying why, only when the host has no OpenCL platform at all, and never on CI.
public func openTestDevice(
    cacheDirectory: URL? = nil, sources: KernelSources = KernelSources(), storeProgramBinaries: Bool? = nil
) throws -> DeviceRuntime {
    try DeviceRuntime(
        device: try testDevices()[0], sources: sources, cacheDirectory: cacheDirectory,
        storeProgramBinaries: storeProgramBinaries)
}

/// Every OpenCL device on the host (PoCL and Intel's runtime on CI), each opened fresh.
public func openTestDevices() throws -> [DeviceRuntime] {
    try testDevices().map { try DeviceRuntime(device: $0, sources: KernelSources(), cacheDirectory: nil) }
}

/// Runs `body` on every device with every kernel family; failures name the device and family.
public func forEachDeviceAndFamily(_ body: (DeviceRuntime, KernelFamily) throws -> Void) throws {
    for runtime in try openTestDevices() {
        for family in KernelFamily.allCases {
            try body(runtime, family)
        }
    }
}

/// The devices, or a skip when there are none; on CI (`CI` set) no devices is a failure, so a
/// missing driver cannot turn the device tests green by skipping them.
public func testDevices() throws -> [CLDevice] {
    let devices = try CLDevice.all()
    if devices.isEmpty {
        if ProcessInfo.processInfo.environment["CI"] != nil {
            XCTFail("no OpenCL platform on CI: the device tests cannot run (install pocl-opencl-icd)")
        }
        throw XCTSkip("no OpenCL platform on this host (install pocl-opencl-icd); device tests skipped")
    }
    return devices
}

/// Cosine similarity of two tensors' values (int8's accuracy criterion against fp32 logits).
public func cosine(_ a: Tensor, _ b: Tensor) -> Double {
    let dot = zip(a.data, b.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    let norms =
        a.data.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot() * b.data.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
    return dot / norms
}
