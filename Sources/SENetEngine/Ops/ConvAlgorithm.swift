import OpenCLKit
import SENetCore

/// One way to run a convolution on a device (GUIDE §10, ARM Compute Library's and MNN's
/// pattern): a type that says when it applies and why not, which tiling it runs with, its
/// scratch and its launches. `ConvAlgorithms.select` picks one per layer; `Conv2d` asks it for
/// everything else, so a new algorithm is its kernel, its type and one line in `registered`.
public protocol ConvAlgorithm: Sendable {
    /// Its name in plans: `gemm-gpu`, `ocvec`, `tiled`.
    var name: String { get }
    /// How its kernels read the weights. The packing's name is part of the upload key, so two
    /// algorithms with different layouts on one layer never share buffers.
    var packing: any ConvWeightPacking { get }
    /// Why it cannot run `geometry` in `context`, or nil when it can.
    func unsupportedReason(_ geometry: ConvGeometry, context: LoweringContext) -> String?
    /// The tiling it would run `geometry` with (the tuning table's entry when valid, else its
    /// default) and whether that is the table's; nil when the layer's tiling is another
    /// algorithm's (the CPU family's table and defaults choose between ocvec and tiled).
    func tilingChoice(_ geometry: ConvGeometry, context: LoweringContext) -> (tiling: ConvolutionTiling, tuned: Bool)?
    /// Bytes of plan-wide scratch it needs with `tiling` for feature maps of `elementBytes`.
    func scratchBytes(_ geometry: ConvGeometry, tiling: ConvolutionTiling, elementBytes: Int, context: LoweringContext)
        -> Int
    /// Its launches, arguments bound.
    func make(_ binding: DeviceBinding, geometry: ConvGeometry, tiling: ConvolutionTiling, relu: Bool) throws -> DeviceOp
    /// The tilings `selfcheck` runs it with on `device` in `precision`: its edge cases (work-group
    /// sizes, im2col, split-K, half arithmetic where the device has it).
    func selfCheckTilings(device: CLDevice, precision: Precision) -> [ConvolutionTiling]
}

/// The algorithm a convolution runs with, its tiling, and why the ones before it were passed.
public struct ConvAlgorithmChoice: Sendable {
    public let algorithm: any ConvAlgorithm
    public let tiling: ConvolutionTiling
    /// True when the tiling is the tuning table's entry for the shape.
    public let tuned: Bool
    /// "name: reason" for each registered algorithm tried before this one.
    public let passedOver: [String]
}

public enum ConvAlgorithms {
    /// Every algorithm, in order of preference.
    public static let registered: [any ConvAlgorithm] = [
        GEMMGPUConvolution(), ChannelVectorConvolution(), PixelTiledConvolution(),
    ]

    /// The first registered algorithm that can run `geometry` in `context` and owns its tiling.
    public static func select(_ geometry: ConvGeometry, context: LoweringContext) -> ConvAlgorithmChoice {
        var passedOver: [String] = []
        for algorithm in registered {
            if let reason = algorithm.unsupportedReason(geometry, context: context) {
                passedOver.append("\(algorithm.name): \(reason)")
            } else if let (tiling, tuned) = algorithm.tilingChoice(geometry, context: context) {
                return ConvAlgorithmChoice(algorithm: algorithm, tiling: tiling, tuned: tuned, passedOver: passedOver)
            } else {
                passedOver.append("\(algorithm.name): the layer's tiling is another algorithm's")
            }
        }
        // `tiled` runs every geometry in either family; reaching here is a registry bug.
        preconditionFailure("no convolution algorithm for \(geometry): \(passedOver)")
    }
}

/// A layout of a convolution's weight [OC, C/groups, K, K] on the device, made once at upload.
public protocol ConvWeightPacking: Sendable {
    /// Its name in the upload key (`oc64`).
    var name: String { get }
    /// The packed tensor's shape, without packing (memory estimates).
    func packedShape(_ weightShape: [Int]) -> [Int]
    func pack(_ weight: Tensor) -> Tensor
}

/// `ConvTiling.packWeights`: blocks of 64 output channels innermost, which ocvec, tiled and
/// gemm-gpu all read.
public struct OutputChannelBlocks: ConvWeightPacking {
    public let name = "oc\(ConvTiling.weightBlock)"
    public func packedShape(_ weightShape: [Int]) -> [Int] { ConvTiling.packedShape(weightShape) }
    public func pack(_ weight: Tensor) -> Tensor { ConvTiling.packWeights(weight) }
}
