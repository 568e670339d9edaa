/// Squeeze-excite, pool and excitation fused (`excite.cl`): branch [N, C, HW] → scale [N, C]
/// in one launch.
public final class ExciteOp: DeviceOp {
    public static let workGroupSize = 64
    /// Largest reduced width the kernel's local buffer holds (SE-ResNet's widest is 128).
    public static let maxReducedWidth = 256
    /// Largest channel count the kernel's local buffer holds (SE-ResNet's widest is 2048).
    public static let maxChannels = 2048
    private let kernel: CLKernel
    private let batch: Int

    public init(
        runtime: DeviceRuntime, batch: Int, channels: Int, reducedWidth: Int, plane: Int, input: CLBuffer,
        reduceWeight: CLBuffer, reduceBias: CLBuffer, expandWeight: CLBuffer, expandBias: CLBuffer, scale: CLBuffer,
        perturb: Bool = false
    ) throws {
        precondition(reducedWidth <= Self.maxReducedWidth, "SE reduced width \(reducedWidth) exceeds the kernel's local buffer")
        precondition(channels <= Self.maxChannels, "SE width \(channels) exceeds the kernel's local buffer")
        let defines = ["EXCITE_WG": Self.workGroupSize, "MAX_REDUCED": Self.maxReducedWidth, "MAX_CHANNELS": Self.maxChannels]
        kernel = try runtime.kernel("se_squeeze_excite", file: "excite.cl", defines: defines, perturb: perturb)
        try kernel.set(
            from: 0, buffers: [input, reduceWeight, reduceBias, expandWeight, expandBias, scale],
            ints: [channels, reducedWidth, plane])
        self.batch = batch
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> [CLEvent] {
        let group = Self.workGroupSize
        return try kernel.launch(on: queue, global: [batch * group], local: [group], profile: profile)
    }
}

/// Fully connected layer (`head.cl`): [N, F] × weight [K, F]ᵀ + bias → [N, K].
public final class LinearOp: DeviceOp {
    private let kernel: CLKernel
    private let global: [Int]

    public init(
        runtime: DeviceRuntime, batch: Int, inFeatures: Int, outFeatures: Int, input: CLBuffer, weight: CLBuffer,
        bias: CLBuffer, output: CLBuffer, perturb: Bool = false
    ) throws {
        kernel = try runtime.kernel("linear", file: "head.cl", defines: ["SOFTMAX_WG": SoftmaxOp.workGroupSize], perturb: perturb)
        try kernel.set(from: 0, buffers: [input, weight, bias, output], ints: [inFeatures, outFeatures])
        global = [outFeatures, batch]
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> [CLEvent] {
        try kernel.launch(on: queue, global: global, profile: profile)
    }
}

/// Softmax over each row of [N, K] (`head.cl`).
public final class SoftmaxOp: DeviceOp {
    public static let workGroupSize = 64
    private let kernel: CLKernel
    private let rows: Int

    public init(runtime: DeviceRuntime, rows: Int, columns: Int, input: CLBuffer, output: CLBuffer, perturb: Bool = false) throws
    {
        kernel = try runtime.kernel(
            "softmax_rows", file: "head.cl", defines: ["SOFTMAX_WG": Self.workGroupSize], perturb: perturb)
        try kernel.set(from: 0, buffers: [input, output], ints: [columns])
        self.rows = rows
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> [CLEvent] {
        let group = Self.workGroupSize
        return try kernel.launch(on: queue, global: [rows * group], local: [group], profile: profile)
    }
}
