import OpenCLKit
import SENetCore

/// A convolution on the CPU family: `conv_ocvec` for channel-vector tilings; otherwise
/// `conv1x1_gemm` for 1×1 stride-1 layers, and for the rest `im2col` into `scratch` followed by
/// `conv1x1_gemm` when the tiling asks for it, else `conv1x1_strided` or `conv_tiled` directly.
/// `weightT` is `ConvTiling.packWeights(weight)` on the device.
public enum TiledConvolution {
    /// Floats of scratch `tiling` needs for `g`: the im2col columns, or 0.
    public static func scratchCount(_ g: ConvGeometry, tiling: ConvTiling) -> Int {
        guard tiling.kernel == .pixelVector, tiling.im2col, g.groups == 1, Variant(g) != .gemm else { return 0 }
        return g.batch * g.inChannels * g.kernelHeight * g.kernelWidth * g.outHeight * g.outWidth
    }

    /// The launches (im2col first when used) of one convolution, arguments bound.
    public static func make(
        runtime: DeviceRuntime, geometry g: ConvGeometry, tiling: ConvTiling, input: CLBuffer, weightT: CLBuffer,
        bias: CLBuffer, output: CLBuffer, relu: Bool, scratch: CLBuffer? = nil, types: KernelTypes = KernelTypes()
    ) throws -> DeviceOp {
        precondition(tiling.fits(g), "tiling \(tiling) cannot run a convolution of \(g.groups) groups")
        if tiling.kernel == .channelVector {
            let types = types.withHalfArithmetic(tiling.halfArithmetic)
            return DeviceOp(
                [
                    try channelVectorLaunch(
                        runtime: runtime, geometry: g, tiling: tiling, arguments: [input, weightT, bias, output], relu: relu,
                        types: types)
                ], convolutionTiling: .cpu(tiling))
        }
        let defines = ["TM": tiling.channels, "TN": tiling.pixels]
        let channelBlocks = (g.outChannels + tiling.channels - 1) / tiling.channels
        let flatPixels = g.outHeight * g.outWidth
        var variant = Variant(g)
        var source = input
        var inChannels = g.inChannels
        var launches: [KernelLaunch] = []
        let scratchBytes = scratchCount(g, tiling: tiling) * types.activations.byteSize
        var notes: [String] = []
        if scratchBytes > 0 && (scratch?.byteCount ?? 0) < scratchBytes {
            notes.append("im2col dropped: \(scratchBytes) bytes of scratch were not given; the direct kernel ran")
        }
        if scratchBytes > 0, let scratch, scratch.byteCount >= scratchBytes {
            let im2col = try runtime.kernel("im2col", file: "conv_tiled.cl", defines: defines, types: types)
            let taps = g.inChannels * g.kernelHeight * g.kernelWidth
            launches.append(
                try KernelLaunch(
                    im2col,
                    [.buffer(input), .buffer(scratch)]
                        + [g.inChannels, g.height, g.width, g.outHeight, g.outWidth, g.kernelHeight, g.stride, g.padding].map {
                            .int($0)
                        },
                    global: [g.outHeight, taps, g.batch]))
            (variant, source, inChannels) = (.gemm, scratch, taps)
        }
        let kernel = try runtime.kernel(variant.rawValue, file: "conv_tiled.cl", defines: defines, types: types)
        let ints: [Int]
        let pixelBlocks: Int
        switch variant {
        case .gemm:
            ints = [inChannels, flatPixels, g.outChannels, relu ? 1 : 0]
            pixelBlocks = (flatPixels + tiling.pixels - 1) / tiling.pixels
        case .strided1x1:
            ints = [g.inChannels, g.height, g.width, g.outChannels, g.outWidth, flatPixels, g.stride, relu ? 1 : 0]
            pixelBlocks = (flatPixels + tiling.pixels - 1) / tiling.pixels
        case .tiled:
            ints = [
                g.inChannels, g.height, g.width, g.outChannels, g.outHeight, g.outWidth, g.kernelHeight, g.stride, g.padding,
                relu ? 1 : 0, g.groups,
            ]
            pixelBlocks = g.outHeight * ((g.outWidth + tiling.pixels - 1) / tiling.pixels)
        }
        let arguments: [KernelArgument] =
            [.buffer(source), .buffer(weightT), .buffer(bias), .buffer(output)] + ints.map { .int($0) }
        if let size = tiling.localSize {
            // Round dim 0 up to a multiple of the work-group size; extra work-items exit early.
            let global = [(pixelBlocks + size - 1) / size * size, channelBlocks, g.batch]
            launches.append(try KernelLaunch(kernel, arguments, global: global, local: [size, 1, 1]))
        } else {
            launches.append(try KernelLaunch(kernel, arguments, global: [pixelBlocks, channelBlocks, g.batch]))
        }
        return DeviceOp(launches, convolutionTiling: .cpu(tiling), substitutions: notes)
    }

    /// `make` for a binding's buffers: what the two CPU-family algorithms run.
    static func make(_ b: DeviceBinding, geometry g: ConvGeometry, tiling: ConvTiling, relu: Bool) throws -> DeviceOp {
        try make(
            runtime: b.runtime, geometry: g, tiling: tiling, input: b.inputs[0], weightT: b.weights[0], bias: b.weights[1],
            output: b.output, relu: relu, scratch: b.scratch, types: b.types)
    }

    /// `conv_ocvec` over `[input, weightT, bias, output]`: dim 0 = blocks of `pixels` of the
    /// batch-folded output, rounded up to the work-group; dim 1 = blocks of `channels`.
    static func channelVectorLaunch(
        runtime: DeviceRuntime, geometry g: ConvGeometry, tiling: ConvTiling, arguments buffers: [CLBuffer], relu: Bool,
        types: KernelTypes
    ) throws -> KernelLaunch {
        let defines = ["VW": tiling.vectorWidth, "OV": tiling.channels / tiling.vectorWidth, "NP": tiling.pixels]
        let kernel = try runtime.kernel("conv_ocvec", file: "conv_ocvec.cl", defines: defines, types: types)
        let ints = [
            g.inChannels, g.height, g.width, g.outChannels, g.outHeight, g.outWidth, g.kernelHeight, g.stride, g.padding,
            g.batch, relu ? 1 : 0, g.groups,
        ]
        let pixelBlocks = (g.batch * g.outHeight * g.outWidth + tiling.pixels - 1) / tiling.pixels
        let channelBlocks = (g.outChannels + tiling.channels - 1) / tiling.channels
        let arguments = buffers.map { KernelArgument.buffer($0) } + ints.map { .int($0) }
        guard let size = tiling.localSize else {
            return try KernelLaunch(kernel, arguments, global: [pixelBlocks, channelBlocks])
        }
        // A work-group is the cache block of one weight panel: when all pixel blocks fit in one,
        // they run together (the 7×7 stage at batch 1) instead of re-reading the panel. But keep
        // 8 work-groups per compute unit (a CPU runtime's thread takes whole groups).
        var local = min(size, pixelBlocks)
        let units = runtime.device.computeUnits
        while local > 1 && (pixelBlocks + local - 1) / local * channelBlocks < 8 * units { local /= 2 }
        let global = [(pixelBlocks + local - 1) / local * local, channelBlocks]
        return try KernelLaunch(kernel, arguments, global: global, local: [local, 1])
    }

    /// Which kernel of `conv_tiled.cl` serves a geometry.
    enum Variant: String {
        case gemm = "conv1x1_gemm"
        case strided1x1 = "conv1x1_strided"
        case tiled = "conv_tiled"

        init(_ g: ConvGeometry) {
            if g.kernelHeight == 1 && g.padding == 0 && g.groups == 1 {
                self = g.stride == 1 ? .gemm : .strided1x1
            } else {
                self = .tiled
            }
        }
    }
}

extension Conv2d: DeviceLowerable {
    /// The weight as the chosen algorithm packs it, and the bias.
    public func deviceParameters(_ context: LoweringContext) -> [Tensor] {
        [algorithmChoice(context).algorithm.packing.pack(layer.weight), layer.bias]
    }
    public func deviceParameterShapes(_ context: LoweringContext) -> [[Int]] {
        [algorithmChoice(context).algorithm.packing.packedShape(layer.weight.shape), layer.bias.shape]
    }
    public func parameterLayout(_ context: LoweringContext) -> String { algorithmChoice(context).algorithm.packing.name }

    /// The algorithm and tiling this convolution runs with in `context`.
    func algorithmChoice(_ context: LoweringContext) -> ConvAlgorithmChoice { ConvAlgorithms.select(geometry, context: context) }

    public func scratchBytes(output: ValueInfo, context: LoweringContext) -> Int {
        let choice = algorithmChoice(context)
        return choice.algorithm.scratchBytes(
            geometry, tiling: choice.tiling, elementBytes: output.elementType.byteSize, context: context)
    }

    /// Whether the convolution multiplies in half in `context`.
    func usesHalfArithmetic(_ context: LoweringContext) -> Bool { algorithmChoice(context).tiling.halfArithmetic }

    public func unsupportedReason(inputs: [ValueInfo], output: ValueInfo, device: CLDevice) -> String? {
        if let other = (inputs + [output]).first(where: { $0.layout != .nchw }) {
            return "no \(other.layout.rawValue) convolution kernel"
        }
        return nil
    }

    public func makeDeviceOp(_ b: DeviceBinding) throws -> DeviceOp {
        let choice = algorithmChoice(b.context)
        return try choice.algorithm.make(b, geometry: geometry, tiling: choice.tiling, relu: layer.relu)
    }
}
