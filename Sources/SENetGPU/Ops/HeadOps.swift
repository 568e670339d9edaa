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
        for (index, buffer) in [input, reduceWeight, reduceBias, expandWeight, expandBias, scale].enumerated() {
            try kernel.set(index, buffer)
        }
        try kernel.set(6, Int32(channels))
        try kernel.set(7, Int32(reducedWidth))
        try kernel.set(8, Int32(plane))
        self.batch = batch
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> [CLEvent] {
        let group = Self.workGroupSize
        return [try kernel.enqueue(on: queue, global: [batch * group], local: [group], wantEvent: profile)].compactMap { $0 }
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
        for (index, buffer) in [input, weight, bias, output].enumerated() { try kernel.set(index, buffer) }
        try kernel.set(4, Int32(inFeatures))
        try kernel.set(5, Int32(outFeatures))
        global = [outFeatures, batch]
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> [CLEvent] {
        [try kernel.enqueue(on: queue, global: global, wantEvent: profile)].compactMap { $0 }
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
        try kernel.set(0, input)
        try kernel.set(1, output)
        try kernel.set(2, Int32(columns))
        self.rows = rows
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> [CLEvent] {
        let group = Self.workGroupSize
        return [try kernel.enqueue(on: queue, global: [rows * group], local: [group], wantEvent: profile)].compactMap { $0 }
    }
}
