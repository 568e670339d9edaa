import Foundation
import Logging
import OpenCLKit

/// One typed kernel argument. OpenCL `int` is 32 bits: `int` values are checked to fit.
public enum KernelArgument {
    case buffer(CLBuffer)
    case int(Int)
    case float(Float)
}

/// The one launch point: a kernel with its arguments bound and its sizes checked when the plan
/// is made, so running it is a single enqueue. Every device op launches through here, which is
/// where profiling events are taken and `SENET_GPU_LOG=launches` logs each launch.
public final class KernelLaunch: @unchecked Sendable {
    public let kernel: CLKernel
    public let global: [Int]
    /// nil lets the driver choose.
    public let local: [Int]?

    /// Logs each launch when `SENET_GPU_LOG` contains `launches`.
    static let logger: Logger? = {
        let setting = ProcessInfo.processInfo.environment["SENET_GPU_LOG"] ?? ""
        return setting.split(separator: ",").contains("launches") ? Logger(label: "senet-gpu.launch") : nil
    }()

    /// Binds `arguments` in order and checks `local` against the device's and the kernel's
    /// limits (CL_DEVICE_MAX_WORK_GROUP_SIZE, CL_KERNEL_WORK_GROUP_SIZE, per-dimension sizes)
    /// and that it divides `global` (OpenCL 1.2 requires it).
    public init(_ kernel: CLKernel, _ arguments: [KernelArgument], global: [Int], local: [Int]? = nil) throws {
        self.kernel = kernel
        self.global = global
        self.local = local
        let fail = { (reason: String) in
            EngineError.invalidLaunch(kernel: kernel.name, global: global, local: local, reason: reason)
        }
        guard (1...3).contains(global.count), global.allSatisfy({ $0 >= 1 }) else {
            throw fail("global sizes must be 1 to 3 positive extents")
        }
        if let local {
            let device = kernel.program.context.device
            let total = local.reduce(1, *)
            guard local.count == global.count, local.allSatisfy({ $0 >= 1 }) else { throw fail("local must match global's rank") }
            guard total <= device.maxWorkGroupSize else {
                throw fail("\(total) work-items exceed the device's \(device.maxWorkGroupSize)")
            }
            guard total <= kernel.maxWorkGroupSize else {
                throw fail("\(total) work-items exceed the kernel's CL_KERNEL_WORK_GROUP_SIZE \(kernel.maxWorkGroupSize)")
            }
            for (dimension, size) in local.enumerated() {
                if dimension < device.maxWorkItemSizes.count, size > device.maxWorkItemSizes[dimension] {
                    throw fail(
                        "local size \(size) exceeds the device's \(device.maxWorkItemSizes[dimension]) in dimension \(dimension)")
                }
                guard global[dimension] % size == 0 else { throw fail("local size \(size) does not divide \(global[dimension])") }
            }
        }
        for (index, argument) in arguments.enumerated() {
            switch argument {
            case .buffer(let buffer): try kernel.set(index, buffer)
            case .float(let value): try kernel.set(index, value)
            case .int(let value):
                guard let narrow = Int32(exactly: value) else {
                    throw fail("argument \(index) = \(value) does not fit an OpenCL int")
                }
                try kernel.set(index, narrow)
            }
        }
    }

    /// Enqueues the launch; returns its event when `profile` (else none is created).
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> CLEvent? {
        Self.logger?.info("launch \(kernel.name) global \(global) local \(local.map { "\($0)" } ?? "driver's")")
        return try kernel.enqueue(on: queue, global: global, local: local, wantEvent: profile)
    }
}
