/// A device operation whose kernel arguments were bound when it was created, so running it is
/// a single enqueue on the runtime's in-order queue.
public protocol DeviceOp: AnyObject {
    /// Enqueues the op; returns its event only when `profile` is set.
    @discardableResult
    func enqueue(on queue: CLQueue, profile: Bool) throws -> CLEvent?
}

/// Shape and hyper-parameters of one convolution.
public struct ConvGeometry: Equatable, Sendable {
    public var batch, inChannels, height, width: Int
    public var outChannels, kernelHeight, kernelWidth: Int
    public var stride = 1, padding = 0, groups = 1

    public init(
        batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int,
        kernel: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1
    ) {
        (self.batch, self.inChannels, self.height, self.width) = (batch, inChannels, height, width)
        (self.outChannels, kernelHeight, kernelWidth) = (outChannels, kernel, kernel)
        (self.stride, self.padding, self.groups) = (stride, padding, groups)
    }

    public var outHeight: Int { windowOutputSize(input: height, kernel: kernelHeight, stride: stride, padding: padding) }
    public var outWidth: Int { windowOutputSize(input: width, kernel: kernelWidth, stride: stride, padding: padding) }
    public var inputShape: [Int] { [batch, inChannels, height, width] }
    public var weightShape: [Int] { [outChannels, inChannels / groups, kernelHeight, kernelWidth] }
    public var outputShape: [Int] { [batch, outChannels, outHeight, outWidth] }
    /// Multiply-accumulates of the whole convolution.
    public var macs: Int { outputShape.reduce(1, *) * (inChannels / groups) * kernelHeight * kernelWidth }
}

/// Direct convolution (`conv_direct.cl`) with bias and optional fused ReLU.
public final class DirectConv2dOp: DeviceOp {
    public static let outputChannelBlock = 4
    private let kernel: CLKernel
    private let global: [Int]

    public init(
        runtime: DeviceRuntime, geometry g: ConvGeometry, input: CLBuffer, weight: CLBuffer,
        bias: CLBuffer, output: CLBuffer, relu: Bool
    ) throws {
        let block = Self.outputChannelBlock
        kernel = try runtime.kernel("conv2d_direct", file: "conv_direct.cl", defines: ["OC_BLOCK": block])
        try kernel.set(0, input)
        try kernel.set(1, weight)
        try kernel.set(2, bias)
        try kernel.set(3, output)
        let ints = [
            g.inChannels, g.height, g.width, g.outChannels, g.outHeight, g.outWidth,
            g.kernelHeight, g.kernelWidth, g.stride, g.padding, g.groups, relu ? 1 : 0,
        ]
        for (offset, value) in ints.enumerated() { try kernel.set(4 + offset, Int32(value)) }
        global = [g.outHeight * g.outWidth, (g.outChannels + block - 1) / block, g.batch]
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> CLEvent? {
        try kernel.enqueue(on: queue, global: global, wantEvent: profile)
    }
}

/// Global average pool (`pooling.cl`): [rows, plane] → [rows], fp32 accumulation.
public final class GlobalAveragePoolOp: DeviceOp {
    public static let workGroupSize = 64
    private let kernel: CLKernel
    private let rows: Int

    public init(runtime: DeviceRuntime, rows: Int, plane: Int, input: CLBuffer, output: CLBuffer) throws {
        kernel = try runtime.kernel("global_avg_pool", file: "pooling.cl", defines: ["GAP_WG": Self.workGroupSize])
        try kernel.set(0, input)
        try kernel.set(1, output)
        try kernel.set(2, Int32(plane))
        self.rows = rows
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> CLEvent? {
        let group = Self.workGroupSize
        return try kernel.enqueue(on: queue, global: [rows * group], local: [group], wantEvent: profile)
    }
}

/// Max pooling (`pooling.cl`) over [rows, H, W]; output size from the host (ceil mode included).
public final class MaxPool2dOp: DeviceOp {
    private let kernel: CLKernel
    private let global: [Int]

    public init(
        runtime: DeviceRuntime, rows: Int, height: Int, width: Int, kernelSize: Int, stride: Int,
        padding: Int, ceilMode: Bool, input: CLBuffer, output: CLBuffer
    ) throws {
        let oh = windowOutputSize(input: height, kernel: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode)
        let ow = windowOutputSize(input: width, kernel: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode)
        kernel = try runtime.kernel("max_pool2d", file: "pooling.cl", defines: ["GAP_WG": GlobalAveragePoolOp.workGroupSize])
        try kernel.set(0, input)
        try kernel.set(1, output)
        for (offset, value) in [height, width, oh, ow, kernelSize, stride, padding].enumerated() {
            try kernel.set(2 + offset, Int32(value))
        }
        global = [oh * ow, rows]
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> CLEvent? {
        try kernel.enqueue(on: queue, global: global, wantEvent: profile)
    }
}

/// Squeeze-excite channel scaling (`scale.cl`), optionally fused with residual add and ReLU.
public final class ChannelScaleOp: DeviceOp {
    private let kernel: CLKernel
    private let global: [Int]

    /// `shortcut` nil: `x * s`; otherwise `relu(x * s + shortcut)`.
    public init(
        runtime: DeviceRuntime, rows: Int, plane: Int, input: CLBuffer, scale: CLBuffer,
        shortcut: CLBuffer?, output: CLBuffer
    ) throws {
        if let shortcut {
            kernel = try runtime.kernel("channel_scale_add_relu", file: "scale.cl")
            try kernel.set(0, input)
            try kernel.set(1, scale)
            try kernel.set(2, shortcut)
            try kernel.set(3, output)
            try kernel.set(4, Int32(plane))
        } else {
            kernel = try runtime.kernel("channel_scale", file: "scale.cl")
            try kernel.set(0, input)
            try kernel.set(1, scale)
            try kernel.set(2, output)
            try kernel.set(3, Int32(plane))
        }
        global = [plane, rows]
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> CLEvent? {
        try kernel.enqueue(on: queue, global: global, wantEvent: profile)
    }
}
