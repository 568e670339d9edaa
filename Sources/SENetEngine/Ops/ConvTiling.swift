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
    /// channelVector on fp16 plans only: half products and partial sums (`HALF_MATH`).
    public var halfArithmetic = false

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
        halfArithmetic = try c.decodeIfPresent(Bool.self, forKey: .halfArithmetic) ?? false
    }

    public var description: String {
        let local = localSize.map { " local=\($0)" } ?? ""
        switch kernel {
        case .pixelVector: return "TM=\(channels) TN=\(pixels)\(local)\(im2col ? " im2col" : "")"
        case .channelVector:
            return "\(channels / max(vectorWidth, 1))x\(vectorWidth) NP=\(pixels)\(local)\(halfArithmetic ? " half" : "")"
        }
    }

    /// Whether the kernels can run this tiling on `device` (a table read from disk may hold
    /// anything): vector widths OpenCL has, tiles that fit the registers, a legal work-group,
    /// half arithmetic only in the channel-vector kernel on a device with fp16.
    public func isValid(on device: CLDevice) -> Bool { invalidReason(on: device) == nil }

    /// Why the kernels cannot run this tiling on `device`, or nil when they can.
    public func invalidReason(on device: CLDevice) -> String? {
        if halfArithmetic && kernel != .channelVector { return "half arithmetic exists only in the channel-vector kernel" }
        if halfArithmetic && !device.supportsFP16 { return "the device has no fp16 arithmetic" }
        let largestGroup = min(device.maxWorkGroupSize, device.maxWorkItemSizes.first ?? 1)
        if let size = localSize, size < 1 || size > largestGroup {
            return "work-group size \(size) is outside 1...\(largestGroup)"
        }
        let blockDivisor = Self.weightBlock % max(channels, 1) == 0
        switch kernel {
        case .pixelVector:
            if !(1...16).contains(channels) || !blockDivisor {
                return "TM=\(channels) does not divide \(Self.weightBlock) within 1...16"
            }
            if ![4, 8, 16].contains(pixels) { return "TN=\(pixels) is not an OpenCL vector width of 4, 8 or 16" }
        case .channelVector:
            if ![4, 8, 16].contains(vectorWidth) { return "vector width \(vectorWidth) is not 4, 8 or 16" }
            if channels % vectorWidth != 0 || !(1...4).contains(channels / vectorWidth) || !blockDivisor {
                return "\(channels) channels are not 1 to 4 vectors dividing \(Self.weightBlock)"
            }
            if !(1...16).contains(pixels) { return "NP=\(pixels) is outside 1...16" }
            if im2col { return "the channel-vector kernel has no im2col" }
        }
        return nil
    }

    /// Defaults before tuning, from the device and the layer, as `tune` chose them on PoCL and
    /// Intel's runtime (AVX2). CPUs, at the native vector width: 1×1 stride-1 layers of more
    /// than 28×28 pixels per image run as the pixel-vector GEMM (8 channels × one vector of
    /// pixels: contiguous loads and stores); every other layer (smaller 1×1s, strided ones, the
    /// stem, the Winograd GEMMs) as the channel-vector kernel with 16 channels × 4 pixels in
    /// work-groups of 4, which reuses each weight vector over the pixels. That tile took
    /// SE-ResNet-50 0.81–0.88 of the time of MLAS's 4 vectors × 3 pixels in groups of 2
    /// (BENCHMARKS), and one tile for all means one program and specialisation to compile:
    /// PoCL compiles each tile and work-group size separately (0.4–1.1 s each).
    /// GPUs: small pixel-vector tiles, so there are enough work-items.
    public static func defaultFor(device: CLDevice?, geometry g: ConvGeometry? = nil) -> ConvTiling {
        guard let device, device.type == .cpu else { return ConvTiling(channels: 4, pixels: 4, im2col: true) }
        if let g, g.kernelHeight == 1, g.stride == 1, g.padding == 0 {
            if g.outHeight * g.outWidth > 28 * 28 { return ConvTiling(channels: 8, pixels: nativeWidth(device), localSize: 8) }
        }
        return channelVectorDefault(device: device)
    }

    /// Grouped convolutions (SE-ResNeXt's 3×3, SENet-154's). On CPUs, groups of at least 8
    /// channels run the channel-vector kernel with vectors inside one group (the native width,
    /// or 8 on 16-wide devices): 2 vectors × 4 pixels where the group holds two, else 1 × 6,
    /// 1.3–2.8× the direct kernel's rate at 28×28 to 7×7 on PoCL and Intel's runtime (BENCHMARKS).
    /// Narrower groups (SE-ResNeXt's first stage, 4 channels), other devices and the GPU family
    /// run the direct pixel-vector kernel, a tile inside one group: TM is the largest of 16, 8,
    /// 4, 2, 1 dividing the group's output channels; TN the native width on CPUs (8 elsewhere).
    public static func groupedDefault(device: CLDevice, geometry g: ConvGeometry, family: KernelFamily = .cpu)
        -> ConvTiling
    {
        let perGroup = g.outChannels / g.groups
        let cpu = device.type == .cpu
        if cpu, family == .cpu, let width = [nativeWidth(device), 8].first(where: { perGroup % $0 == 0 }) {
            let vectors = min(2, perGroup / width)
            return ConvTiling(vectors: vectors, vectorWidth: width, pixels: vectors == 2 ? 4 : 6, localSize: 2)
        }
        let channels = [16, 8, 4, 2, 1].first { perGroup % $0 == 0 }!
        return ConvTiling(channels: channels, pixels: cpu ? nativeWidth(device) : 8, localSize: cpu ? 8 : nil)
    }

    /// Whether the kernels can run this tiling on `g`: any tiling when ungrouped; grouped layers
    /// need a tile inside one group, of the channel-vector kernel or of the direct pixel-vector
    /// one without half arithmetic.
    public func fits(_ g: ConvGeometry) -> Bool {
        guard g.groups > 1 else { return true }
        let direct = kernel == .channelVector || kernel == .pixelVector && !im2col && !halfArithmetic
        return direct && (g.outChannels / g.groups) % channels == 0
    }

    /// The default channel-vector tile: 16 channels (vectors of the native width) × 4 pixels,
    /// groups of 4.
    public static func channelVectorDefault(device: CLDevice) -> ConvTiling {
        let width = nativeWidth(device)
        return ConvTiling(vectors: max(1, 16 / width), vectorWidth: width, pixels: 4, localSize: 4)
    }

    /// The device's float vector width as one the kernels have (4, 8 or 16).
    static func nativeWidth(_ device: CLDevice) -> Int { [16, 8, 4].first { $0 <= device.nativeFloatVectorWidth } ?? 4 }

    /// Output channels per block of packed weights; every tile's channel count divides it.
    public static let weightBlock = 64

    /// The shape `packWeights` gives a weight of `shape`: [⌈OC/64⌉, C·K·K, 64].
    public static func packedShape(_ shape: [Int]) -> [Int] {
        let outChannels = shape[0]
        let taps = shape.dropFirst().reduce(1, *)
        return [(outChannels + weightBlock - 1) / weightBlock, taps, weightBlock]
    }

    /// Weight [OC, C, K, K] packed to [⌈OC/64⌉, C·K·K, 64], the layout every convolution kernel
    /// reads (MLAS packs the same way): a tile's output channels at one tap are contiguous, and
    /// a work-item streams one contiguous panel. Channels past OC are zero.
    public static func packWeights(_ weight: Tensor) -> Tensor {
        let outChannels = weight.shape[0]
        let taps = weight.count / outChannels
        let block = weightBlock
        var packed = Tensor(shape: packedShape(weight.shape))
        for o in 0..<outChannels {
            let base = (o / block) * taps * block + o % block
            for t in 0..<taps { packed.data[base + t * block] = weight.data[o * taps + t] }
        }
        return packed
    }
}

/// The tiling one convolution of a plan runs with: a CPU-family tiling (`conv_tiled.cl`,
/// `conv_ocvec.cl`; also every grouped layer) or a GPU-family one (`conv_gemm.cl`).
public enum ConvolutionTiling: Hashable, Sendable, Codable, CustomStringConvertible {
    case cpu(ConvTiling)
    case gpu(GPUConvTiling)

    public var description: String {
        switch self {
        case .cpu(let tiling): return "\(tiling)"
        case .gpu(let tiling): return "\(tiling)"
        }
    }

    /// The kernel family whose kernels it tiles.
    public var family: KernelFamily {
        switch self {
        case .cpu: return .cpu
        case .gpu: return .gpu
        }
    }

    /// Why the family's kernels cannot run it on `device`, or nil when they can.
    public func invalidReason(on device: CLDevice) -> String? {
        switch self {
        case .cpu(let tiling): return tiling.invalidReason(on: device)
        case .gpu(let tiling): return tiling.invalidReason(on: device)
        }
    }

    /// Whether its kernel has half arithmetic: the channel-vector one and the GPU GEMM.
    public var canMultiplyInHalf: Bool {
        switch self {
        case .cpu(let tiling): return tiling.kernel == .channelVector
        case .gpu: return true
        }
    }

    /// The same tiling with half arithmetic on or off.
    public func withHalfArithmetic(_ on: Bool) -> ConvolutionTiling {
        switch self {
        case .cpu(var tiling):
            tiling.halfArithmetic = on
            return .cpu(tiling)
        case .gpu(var tiling):
            tiling.halfArithmetic = on
            return .gpu(tiling)
        }
    }

    /// Whether it multiplies in half.
    public var halfArithmetic: Bool {
        switch self {
        case .cpu(let tiling): return tiling.halfArithmetic
        case .gpu(let tiling): return tiling.halfArithmetic
        }
    }
}

extension ConvolutionTiling {
    /// `{"cpu": {...}}` or `{"gpu": {...}}`: the family's tiling fields.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Family.self)
        switch self {
        case .cpu(let tiling): try container.encode(tiling, forKey: .cpu)
        case .gpu(let tiling): try container.encode(tiling, forKey: .gpu)
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Family.self)
        if let tiling = try container.decodeIfPresent(ConvTiling.self, forKey: .cpu) {
            self = .cpu(tiling)
        } else {
            self = .gpu(try container.decode(GPUConvTiling.self, forKey: .gpu))
        }
    }

    private enum Family: String, CodingKey { case cpu, gpu }
}
