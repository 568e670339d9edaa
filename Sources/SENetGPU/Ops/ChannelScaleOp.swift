/// Squeeze-excite channel scaling (`scale.cl`), optionally fused with residual add and ReLU.
public final class ChannelScaleOp: DeviceOp {
    private let kernel: CLKernel
    private let global: [Int]

    /// `shortcut` nil: `x * s`; otherwise `relu(x * s + shortcut)`.
    public init(
        runtime: DeviceRuntime, rows: Int, plane: Int, input: CLBuffer, scale: CLBuffer,
        shortcut: CLBuffer?, output: CLBuffer, perturb: Bool = false
    ) throws {
        let name = shortcut == nil ? "channel_scale" : "channel_scale_add_relu"
        kernel = try runtime.kernel(name, file: "scale.cl", perturb: perturb)
        try kernel.set(from: 0, buffers: [input, scale] + (shortcut.map { [$0] } ?? []) + [output], ints: [plane])
        global = [plane, rows]
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> [CLEvent] {
        try kernel.launch(on: queue, global: global, profile: profile)
    }
}
