import OpenCLKit
import SENetCore

/// Tile sizes of the register-tiled convolution kernels (`conv_tiled.cl`).
public struct ConvTiling: Hashable, Codable, Sendable, CustomStringConvertible {
    /// Output channels per work-item.
    public var channels: Int
    /// Output pixels per work-item (an OpenCL vector width: 4, 8 or 16).
    public var pixels: Int
    /// Work-group size along dim 0, or nil to let the driver choose.
    public var localSize: Int?
    /// Unfold the input with im2col and run a GEMM (when the plan has scratch), instead of
    /// the direct tiled kernel. Ignored for 1×1 stride-1 layers, which are GEMMs already.
    public var im2col: Bool

    public init(channels: Int, pixels: Int, localSize: Int? = nil, im2col: Bool = false) {
        (self.channels, self.pixels, self.localSize, self.im2col) = (channels, pixels, localSize, im2col)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        channels = try c.decode(Int.self, forKey: .channels)
        pixels = try c.decode(Int.self, forKey: .pixels)
        localSize = try c.decodeIfPresent(Int.self, forKey: .localSize)
        im2col = try c.decodeIfPresent(Bool.self, forKey: .im2col) ?? false
    }

    public var description: String {
        "TM=\(channels) TN=\(pixels)\(localSize.map { " local=\($0)" } ?? "")\(im2col ? " im2col" : "")"
    }

    /// Defaults before tuning: on CPUs the winner of most SE-ResNet-50 layers under PoCL (big
    /// register tiles, im2col); on GPUs smaller tiles, so there are enough work-items.
    public static func defaultFor(device: CLDevice?) -> ConvTiling {
        device?.type == "cpu"
            ? ConvTiling(channels: 16, pixels: 16, localSize: 8, im2col: true) : ConvTiling(channels: 4, pixels: 4, im2col: true)
    }

    /// Weight [OC, C, K, K] transposed to [C·K·K, OC], the layout the kernels read.
    public static func transposeWeights(_ weight: Tensor) -> Tensor {
        let outChannels = weight.shape[0]
        let taps = weight.count / outChannels
        var transposed = Tensor(shape: [taps, outChannels])
        for o in 0..<outChannels {
            for t in 0..<taps { transposed.data[t * outChannels + o] = weight.data[o * taps + t] }
        }
        return transposed
    }
}

/// A convolution through the register-tiled kernels: `conv1x1_gemm` for 1×1 stride-1 layers;
/// for the rest, `im2col` into `scratch` followed by `conv1x1_gemm` when a scratch buffer of
/// `scratchCount(g)` floats is given, else `conv1x1_strided` or `conv_tiled` directly.
/// `weightT` is `ConvTiling.transposeWeights(weight)` on the device.
public enum TiledConvolution {
    /// Floats of scratch the im2col path needs for `g`; 0 when the layer is a plain GEMM.
    public static func scratchCount(_ g: ConvGeometry) -> Int {
        Variant(g) == .gemm ? 0 : g.batch * g.inChannels * g.kernelHeight * g.kernelWidth * g.outHeight * g.outWidth
    }

    /// The launches (im2col first when used) of one convolution, arguments bound.
    public static func make(
        runtime: DeviceRuntime, geometry g: ConvGeometry, tiling: ConvTiling, input: CLBuffer, weightT: CLBuffer,
        bias: CLBuffer, output: CLBuffer, relu: Bool, scratch: CLBuffer? = nil, element: ElementType = .float32
    ) throws -> DeviceOp {
        precondition(g.groups == 1, "the tiled kernels have no groups")
        let defines = ["TM": tiling.channels, "TN": tiling.pixels]
        let channelBlocks = (g.outChannels + tiling.channels - 1) / tiling.channels
        let flatPixels = g.outHeight * g.outWidth
        var variant = Variant(g)
        var source = input
        var inChannels = g.inChannels
        var launches: [KernelLaunch] = []
        let scratchBytes = scratchCount(g) * element.byteSize
        if variant != .gemm, tiling.im2col, let scratch, scratch.byteCount >= scratchBytes {
            let im2col = try runtime.kernel("im2col", file: "conv_tiled.cl", defines: defines, element: element)
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
        let kernel = try runtime.kernel(variant.rawValue, file: "conv_tiled.cl", defines: defines, element: element)
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
                relu ? 1 : 0,
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
        return DeviceOp(launches)
    }

    /// Which kernel of `conv_tiled.cl` serves a geometry.
    enum Variant: String {
        case gemm = "conv1x1_gemm"
        case strided1x1 = "conv1x1_strided"
        case tiled = "conv_tiled"

        init(_ g: ConvGeometry) {
            if g.kernelHeight == 1 && g.padding == 0 {
                self = g.stride == 1 ? .gemm : .strided1x1
            } else {
                self = .tiled
            }
        }
    }
}

extension Conv2d: DeviceLowerable {
    /// [C·K·K, OC] transposed weights and the bias.
    public func deviceParameters() -> [Tensor] { [ConvTiling.transposeWeights(layer.weight), layer.bias] }

    public func scratchBytes(output: ValueInfo, context: LoweringContext) -> Int {
        switch context.family {
        case .cpu: return TiledConvolution.scratchCount(geometry) * output.elementType.byteSize
        case .gpu:
            return GPUConvolution.scratchBytes(geometry, tiling: gpuTiling(context), computeUnits: context.device.computeUnits)
        }
    }

    /// The tuned GPU tiling for this shape when the device can run it, else the device's default.
    func gpuTiling(_ context: LoweringContext) -> GPUConvTiling {
        if let tuned = context.tuning?.gpuEntries[ConvTuner.key(geometry)], tuned.fits(context.device) { return tuned }
        return GPUConvTiling.defaultFor(device: context.device, geometry: geometry)
    }

    public func unsupportedReason(inputs: [ValueInfo], output: ValueInfo, device: CLDevice) -> String? {
        if geometry.groups != 1 { return "no grouped convolution kernel" }
        let values = inputs + [output]
        if let other = values.first(where: { $0.elementType != .float32 || $0.layout != .nchw }) {
            return "no \(other.elementType.rawValue) \(other.layout.rawValue) convolution kernel"
        }
        return nil
    }

    public func makeDeviceOp(_ b: DeviceBinding) throws -> DeviceOp {
        if b.family == .gpu {
            return try GPUConvolution.make(
                runtime: b.runtime, geometry: geometry, tiling: gpuTiling(b.context), input: b.inputs[0], weightT: b.weights[0],
                bias: b.weights[1], output: b.output, relu: layer.relu, scratch: b.scratch, element: b.outputValue.elementType)
        }
        let tiling = b.tuning?.entries[ConvTuner.key(geometry)] ?? ConvTiling.defaultFor(device: b.runtime.device)
        return try TiledConvolution.make(
            runtime: b.runtime, geometry: geometry, tiling: tiling, input: b.inputs[0], weightT: b.weights[0],
            bias: b.weights[1], output: b.output, relu: layer.relu, scratch: b.scratch, element: b.outputValue.elementType)
    }
}
