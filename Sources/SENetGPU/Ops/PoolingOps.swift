/// Global average pool (`pooling.cl`): [rows, plane] → [rows], fp32 accumulation.
public final class GlobalAveragePoolOp: DeviceOp {
    public static let workGroupSize = 64
    private let kernel: CLKernel
    private let rows: Int

    public init(runtime: DeviceRuntime, rows: Int, plane: Int, input: CLBuffer, output: CLBuffer, perturb: Bool = false) throws {
        kernel = try runtime.kernel(
            "global_avg_pool", file: "pooling.cl", defines: ["GAP_WG": Self.workGroupSize], perturb: perturb)
        try kernel.set(from: 0, buffers: [input, output], ints: [plane])
        self.rows = rows
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> [CLEvent] {
        let group = Self.workGroupSize
        return try kernel.launch(on: queue, global: [rows * group], local: [group], profile: profile)
    }
}

/// Max pooling (`pooling.cl`) over [rows, H, W]; output size from the host (ceil mode included).
public final class MaxPool2dOp: DeviceOp {
    private let kernel: CLKernel
    private let global: [Int]

    public init(
        runtime: DeviceRuntime, rows: Int, height: Int, width: Int, kernelSize: Int, stride: Int,
        padding: Int, ceilMode: Bool, input: CLBuffer, output: CLBuffer, perturb: Bool = false
    ) throws {
        let oh = windowOutputSize(input: height, kernel: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode)
        let ow = windowOutputSize(input: width, kernel: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode)
        kernel = try runtime.kernel(
            "max_pool2d", file: "pooling.cl", defines: ["GAP_WG": GlobalAveragePoolOp.workGroupSize], perturb: perturb)
        try kernel.set(from: 0, buffers: [input, output], ints: [height, width, oh, ow, kernelSize, stride, padding])
        global = [oh * ow, rows]
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> [CLEvent] {
        try kernel.launch(on: queue, global: global, profile: profile)
    }
}
