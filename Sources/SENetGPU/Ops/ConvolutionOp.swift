/// Direct convolution (`conv_direct.cl`) with bias and optional fused ReLU.
public final class DirectConv2dOp: DeviceOp {
    public static let outputChannelBlock = 4
    private let kernel: CLKernel
    private let global: [Int]

    public init(
        runtime: DeviceRuntime, geometry g: ConvGeometry, input: CLBuffer, weight: CLBuffer,
        bias: CLBuffer, output: CLBuffer, relu: Bool, perturb: Bool = false
    ) throws {
        let block = Self.outputChannelBlock
        kernel = try runtime.kernel("conv2d_direct", file: "conv_direct.cl", defines: ["OC_BLOCK": block], perturb: perturb)
        try kernel.set(
            from: 0, buffers: [input, weight, bias, output],
            ints: [
                g.inChannels, g.height, g.width, g.outChannels, g.outHeight, g.outWidth,
                g.kernelHeight, g.kernelWidth, g.stride, g.padding, g.groups, relu ? 1 : 0,
            ])
        global = [g.outHeight * g.outWidth, (g.outChannels + block - 1) / block, g.batch]
    }

    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> [CLEvent] {
        try kernel.launch(on: queue, global: global, profile: profile)
    }
}
