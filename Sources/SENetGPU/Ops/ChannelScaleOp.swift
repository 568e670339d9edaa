/// Squeeze-excite channel scaling (`scale.cl`), optionally fused with residual add and ReLU.
public final class ChannelScaleOp: DeviceOp {
    private let kernel: CLKernel
    private let global: [Int]

    /// `shortcut` nil: `x * s`; otherwise `relu(x * s + shortcut)`.
    public init(
        runtime: DeviceRuntime, rows: Int, plane: Int, input: CLBuffer, scale: CLBuffer,
        shortcut: CLBuffer?, output: CLBuffer, perturb: Bool = false
    ) throws {
        if let shortcut {
            kernel = try runtime.kernel("channel_scale_add_relu", file: "scale.cl", perturb: perturb)
            try kernel.set(0, input)
            try kernel.set(1, scale)
            try kernel.set(2, shortcut)
            try kernel.set(3, output)
            try kernel.set(4, Int32(plane))
        } else {
            kernel = try runtime.kernel("channel_scale", file: "scale.cl", perturb: perturb)
            try kernel.set(0, input)
            try kernel.set(1, scale)
            try kernel.set(2, output)
            try kernel.set(3, Int32(plane))
        }
        global = [plane, rows]
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> [CLEvent] {
        [try kernel.enqueue(on: queue, global: global, wantEvent: profile)].compactMap { $0 }
    }
}
