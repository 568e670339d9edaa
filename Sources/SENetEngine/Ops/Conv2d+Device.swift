import OpenCLKit
import SENetCore

/// Which kernel and tile sizes serve one convolution shape on the CPU family.
public struct ConvTiling: Hashable, Codable, Sendable, CustomStringConvertible {
    /// The register tile's orientation.
    public enum Kernel: String, Codable, Sendable {
        /// `conv_tiled.cl`: vectors over `pixels` output pixels, `channels` output channels each.
        case pixelVector
        /// `conv_ocvec.cl`: vectors of `vectorWidth` output channels (`channels` of them in all),
        /// `pixels` output pixels broadcast; batch folded into the pixels; no im2col.
        case channelVector
    }

    public var kernel: Kernel
    /// Output channels per work-item.
    public var channels: Int
    /// Output pixels per work-item (pixelVector: an OpenCL vector width, 4, 8 or 16).
    public var pixels: Int
    /// Floats per vector of the channelVector kernel (4, 8 or 16); unused by pixelVector.
    public var vectorWidth: Int
    /// Work-group size along dim 0, or nil to let the driver choose.
    public var localSize: Int?
    /// pixelVector only: unfold the input with im2col and run a GEMM (when the plan has
    /// scratch), instead of the direct tiled kernel. Ignored for 1×1 stride-1 layers.
    public var im2col: Bool

    public init(channels: Int, pixels: Int, localSize: Int? = nil, im2col: Bool = false) {
        (kernel, self.channels, self.pixels, vectorWidth, self.localSize, self.im2col) =
            (.pixelVector, channels, pixels, 0, localSize, im2col)
    }

    /// A channelVector tiling: `vectors` vectors of `vectorWidth` channels × `pixels` pixels.
    public init(vectors: Int, vectorWidth: Int, pixels: Int, localSize: Int?) {
        (kernel, channels, self.pixels, self.vectorWidth, self.localSize, im2col) =
            (.channelVector, vectors * vectorWidth, pixels, vectorWidth, localSize, false)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kernel = try c.decodeIfPresent(Kernel.self, forKey: .kernel) ?? .pixelVector
        channels = try c.decode(Int.self, forKey: .channels)
        pixels = try c.decode(Int.self, forKey: .pixels)
        vectorWidth = try c.decodeIfPresent(Int.self, forKey: .vectorWidth) ?? 0
        localSize = try c.decodeIfPresent(Int.self, forKey: .localSize)
        im2col = try c.decodeIfPresent(Bool.self, forKey: .im2col) ?? false
    }

    public var description: String {
        let local = localSize.map { " local=\($0)" } ?? ""
        switch kernel {
        case .pixelVector: return "TM=\(channels) TN=\(pixels)\(local)\(im2col ? " im2col" : "")"
        case .channelVector: return "ocvec \(channels / max(vectorWidth, 1))x\(vectorWidth) NP=\(pixels)\(local)"
        }
    }

    /// Whether the kernels can run this tiling on `device` (a table read from disk may hold
    /// anything): vector widths OpenCL has, tiles that fit the registers, a legal work-group.
    public func isValid(on device: CLDevice) -> Bool {
        if let size = localSize, size < 1 || size > min(device.maxWorkGroupSize, device.maxWorkItemSizes.first ?? 1) {
            return false
        }
        switch kernel {
        case .pixelVector:
            return (1...16).contains(channels) && Self.weightBlock % channels == 0 && [4, 8, 16].contains(pixels)
        case .channelVector:
            return [4, 8, 16].contains(vectorWidth) && channels % vectorWidth == 0 && (1...4).contains(channels / vectorWidth)
                && Self.weightBlock % channels == 0
                && (1...16).contains(pixels) && !im2col
        }
    }

    /// Defaults before tuning, from the device and the layer. CPUs, at the native vector width:
    /// 1×1 stride-1 layers with at least 14×14 pixels per image run as the pixel-vector GEMM
    /// (16 channels × one vector of pixels: contiguous loads and stores); every other layer
    /// runs the channel-vector kernel with MLAS's 12 accumulators (4 vectors of channels × 3
    /// pixels) in work-groups of 2. One tile for all of them on purpose: PoCL compiles each
    /// tile and work-group size separately (about 0.4 s each), and `tune` gains little more.
    /// GPUs: small pixel-vector tiles, so there are enough work-items.
    public static func defaultFor(device: CLDevice?, geometry g: ConvGeometry? = nil) -> ConvTiling {
        guard let device, device.type == "cpu" else { return ConvTiling(channels: 4, pixels: 4, im2col: true) }
        let width = [16, 8, 4].first { $0 <= device.nativeFloatVectorWidth } ?? 4
        if let g, g.kernelHeight == 1, g.stride == 1, g.padding == 0, g.outHeight * g.outWidth >= 14 * 14 {
            return ConvTiling(channels: 16, pixels: width, localSize: 8)
        }
        return ConvTiling(vectors: 4, vectorWidth: width, pixels: 3, localSize: 2)
    }

    /// Output channels per block of packed weights; every tile's channel count divides it.
    public static let weightBlock = 64

    /// Weight [OC, C, K, K] packed to [⌈OC/64⌉, C·K·K, 64], the layout every convolution kernel
    /// reads (MLAS packs the same way): a tile's output channels at one tap are contiguous, and
    /// a work-item streams one contiguous panel. Channels past OC are zero.
    public static func packWeights(_ weight: Tensor) -> Tensor {
        let outChannels = weight.shape[0]
        let taps = weight.count / outChannels
        let block = weightBlock
        let blocks = (outChannels + block - 1) / block
        var packed = Tensor(shape: [blocks, taps, block])
        for o in 0..<outChannels {
            let base = (o / block) * taps * block + o % block
            for t in 0..<taps { packed.data[base + t * block] = weight.data[o * taps + t] }
        }
        return packed
    }
}

/// A convolution on the CPU family: `conv_ocvec` for channel-vector tilings; otherwise
/// `conv1x1_gemm` for 1×1 stride-1 layers, and for the rest `im2col` into `scratch` followed by
/// `conv1x1_gemm` when the tiling asks for it, else `conv1x1_strided` or `conv_tiled` directly.
/// `weightT` is `ConvTiling.packWeights(weight)` on the device.
public enum TiledConvolution {
    /// Floats of scratch `tiling` needs for `g`: the im2col columns, or 0.
    public static func scratchCount(_ g: ConvGeometry, tiling: ConvTiling) -> Int {
        guard tiling.kernel == .pixelVector, tiling.im2col, Variant(g) != .gemm else { return 0 }
        return g.batch * g.inChannels * g.kernelHeight * g.kernelWidth * g.outHeight * g.outWidth
    }

    /// The launches (im2col first when used) of one convolution, arguments bound.
    public static func make(
        runtime: DeviceRuntime, geometry g: ConvGeometry, tiling: ConvTiling, input: CLBuffer, weightT: CLBuffer,
        bias: CLBuffer, output: CLBuffer, relu: Bool, scratch: CLBuffer? = nil, element: ElementType = .float32
    ) throws -> DeviceOp {
        precondition(g.groups == 1, "the tiled kernels have no groups")
        if tiling.kernel == .channelVector {
            return DeviceOp([
                try channelVectorLaunch(
                    runtime: runtime, geometry: g, tiling: tiling, arguments: [input, weightT, bias, output], relu: relu,
                    element: element)
            ])
        }
        let defines = ["TM": tiling.channels, "TN": tiling.pixels]
        let channelBlocks = (g.outChannels + tiling.channels - 1) / tiling.channels
        let flatPixels = g.outHeight * g.outWidth
        var variant = Variant(g)
        var source = input
        var inChannels = g.inChannels
        var launches: [KernelLaunch] = []
        let scratchBytes = scratchCount(g, tiling: tiling) * element.byteSize
        if scratchBytes > 0, let scratch, scratch.byteCount >= scratchBytes {
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

    /// `conv_ocvec` over `[input, weightT, bias, output]`: dim 0 = blocks of `pixels` of the
    /// batch-folded output, rounded up to the work-group; dim 1 = blocks of `channels`.
    static func channelVectorLaunch(
        runtime: DeviceRuntime, geometry g: ConvGeometry, tiling: ConvTiling, arguments buffers: [CLBuffer], relu: Bool,
        element: ElementType
    ) throws -> KernelLaunch {
        let defines = ["VW": tiling.vectorWidth, "OV": tiling.channels / tiling.vectorWidth, "NP": tiling.pixels]
        let kernel = try runtime.kernel("conv_ocvec", file: "conv_ocvec.cl", defines: defines, element: element)
        let ints = [
            g.inChannels, g.height, g.width, g.outChannels, g.outHeight, g.outWidth, g.kernelHeight, g.stride, g.padding,
            g.batch, relu ? 1 : 0,
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
            if g.kernelHeight == 1 && g.padding == 0 {
                self = g.stride == 1 ? .gemm : .strided1x1
            } else {
                self = .tiled
            }
        }
    }
}

extension Conv2d: DeviceLowerable {
    /// Packed weights (`ConvTiling.packWeights`) and the bias.
    public func deviceParameters() -> [Tensor] { [ConvTiling.packWeights(layer.weight), layer.bias] }

    public func scratchBytes(output: ValueInfo, context: LoweringContext) -> Int {
        switch context.family {
        case .cpu: return TiledConvolution.scratchCount(geometry, tiling: cpuTiling(context)) * output.elementType.byteSize
        case .gpu:
            return GPUConvolution.scratchBytes(geometry, tiling: gpuTiling(context), computeUnits: context.device.computeUnits)
        }
    }

    /// The tuned CPU-family tiling for this shape when it is valid on the device, else the default.
    func cpuTiling(_ context: LoweringContext) -> ConvTiling {
        if let tuned = context.tuning?.entries[ConvTuner.key(geometry)], tuned.isValid(on: context.device) { return tuned }
        return ConvTiling.defaultFor(device: context.device, geometry: geometry)
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
        return try TiledConvolution.make(
            runtime: b.runtime, geometry: geometry, tiling: cpuTiling(b.context), input: b.inputs[0], weightT: b.weights[0],
            bias: b.weights[1], output: b.output, relu: layer.relu, scratch: b.scratch, element: b.outputValue.elementType)
    }
}
