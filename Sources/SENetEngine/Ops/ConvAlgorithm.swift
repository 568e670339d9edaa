import OpenCLKit
import SENetCore

/// One way to run a convolution on a device (GUIDE §10, ARM Compute Library's and MNN's
/// pattern): a type that says when it applies and why not, its default tiling and which tuned
/// ones it can run, its weight packing, scratch and launches. `ConvAlgorithms.select` picks one
/// per layer; `Conv2d` asks it for everything else, so a new algorithm is its kernel, its type
/// and one line in `registered`.
public protocol ConvAlgorithm: Sendable {
    /// Its name in plans and tuning tables: `gemm-gpu`, `winograd-f4`, `ocvec`, `tiled`.
    var name: String { get }
    /// How its kernels read the weights. The packing's name is part of the upload key, so two
    /// algorithms with different layouts on one layer never share buffers.
    var packing: any ConvWeightPacking { get }
    /// Why it cannot run `geometry` in `context`, or nil when it can.
    func unsupportedReason(_ geometry: ConvGeometry, context: LoweringContext) -> String?
    /// Its tiling for `geometry` when no tuned entry applies, or nil when the device-type
    /// defaults give the layer to another algorithm (the CPU family's defaults choose between
    /// ocvec and tiled). Under `--arithmetic fp16` a default multiplies in half.
    func defaultTiling(_ geometry: ConvGeometry, context: LoweringContext) -> ConvolutionTiling?
    /// Why `defaultTiling` gave `geometry` to another algorithm, for `plan -v`.
    func defaultDeclinedReason(_ geometry: ConvGeometry, context: LoweringContext) -> String
    /// Why it cannot run `tiling` on `geometry` in `context` (a table read from disk may hold
    /// anything), or nil when it can.
    func invalidReason(_ tiling: ConvolutionTiling, _ geometry: ConvGeometry, context: LoweringContext) -> String?
    /// Bytes of plan-wide scratch it needs with `tiling` for feature maps of `elementBytes`.
    func scratchBytes(_ geometry: ConvGeometry, tiling: ConvolutionTiling, elementBytes: Int, context: LoweringContext)
        -> Int
    /// Its launches, arguments bound.
    func make(_ binding: DeviceBinding, geometry: ConvGeometry, tiling: ConvolutionTiling, relu: Bool) throws -> DeviceOp
    /// The tilings `tune` times it with on `geometry` in `context` (half arithmetic among them
    /// as the precision and `--arithmetic` allow); empty when it has none to try.
    func tuningCandidates(_ geometry: ConvGeometry, context: LoweringContext) -> [ConvolutionTiling]
    /// The tilings `selfcheck` runs it with on `device` in `precision`: its edge cases (work-group
    /// sizes, im2col, split-K, half arithmetic where the device has it).
    func selfCheckTilings(device: CLDevice, precision: Precision) -> [ConvolutionTiling]
}

/// The algorithm a convolution runs with, its tiling, and why the ones before it were passed.
public struct ConvAlgorithmChoice: Sendable {
    public let algorithm: any ConvAlgorithm
    public let tiling: ConvolutionTiling
    /// Where the tiling came from in the tuning table; nil for the algorithm's default.
    public let tuned: TuningTable.Match?
    /// Why the table's entry or the default was replaced (an invalid entry, `--arithmetic`).
    public let substitutions: [String]
    /// "name: reason" for each registered algorithm tried before this one.
    public let passedOver: [String]
}

public enum ConvAlgorithms {
    /// Every algorithm, in order of preference.
    public static let registered: [any ConvAlgorithm] = [
        GEMMGPUConvolution(), WinogradConvolution(m: 4), WinogradConvolution(m: 2), ChannelVectorConvolution(),
        PixelTiledConvolution(),
    ]

    public static func named(_ name: String) -> (any ConvAlgorithm)? { registered.first { $0.name == name } }

    /// The tuning table's entry for `geometry` (the exact shape, else the same layer at another
    /// batch) when its algorithm can run it here; else the first registered algorithm that can
    /// run `geometry` in `context` and whose default the layer is.
    public static func select(_ geometry: ConvGeometry, context: LoweringContext) -> ConvAlgorithmChoice {
        var notes: [String] = []
        if let (entry, match) = context.tuning?.lookup(geometry, precision: context.precision, family: context.family) {
            let algorithm = named(entry.algorithm)
            let reason =
                algorithm.map {
                    $0.unsupportedReason(geometry, context: context) ?? $0.invalidReason(entry.tiling, geometry, context: context)
                } ?? "no algorithm is named \(entry.algorithm)"
            if let algorithm, reason == nil {
                return finish(algorithm, entry.tiling, tuned: match, notes: [], passedOver: [], context: context)
            }
            notes.append("tuned \(entry) set aside: \(reason!); the default runs")
        }
        var passedOver: [String] = []
        for algorithm in registered {
            if let reason = algorithm.unsupportedReason(geometry, context: context) {
                passedOver.append("\(algorithm.name): \(reason)")
            } else if let tiling = algorithm.defaultTiling(geometry, context: context) {
                return finish(algorithm, tiling, tuned: nil, notes: notes, passedOver: passedOver, context: context)
            } else {
                passedOver.append("\(algorithm.name): \(algorithm.defaultDeclinedReason(geometry, context: context))")
            }
        }
        // `tiled` runs every geometry in either family; reaching here is a registry bug.
        preconditionFailure("no convolution algorithm for \(geometry): \(passedOver)")
    }

    /// `--arithmetic fp32` turns a tuned entry's half arithmetic off (and says so), `fp16` turns
    /// it on wherever the kernel has it; fp32 plans never multiply in half.
    private static func finish(
        _ algorithm: any ConvAlgorithm, _ tiling: ConvolutionTiling, tuned: TuningTable.Match?, notes: [String],
        passedOver: [String], context: LoweringContext
    ) -> ConvAlgorithmChoice {
        var (tiling, notes) = (tiling, notes)
        if tiling.halfArithmetic && (context.precision == .fp32 || context.arithmetic == .fp32) {
            if context.precision == .fp16 { notes.append("--arithmetic fp32 turned off \(tiling)'s half arithmetic") }
            tiling = tiling.withHalfArithmetic(false)
        }
        if context.precision == .fp16 && context.arithmetic == .fp16 && tiling.canMultiplyInHalf {
            tiling = tiling.withHalfArithmetic(true)
        }
        return ConvAlgorithmChoice(
            algorithm: algorithm, tiling: tiling, tuned: tuned, substitutions: notes, passedOver: passedOver)
    }
}

extension ConvAlgorithm {
    public func defaultDeclinedReason(_ geometry: ConvGeometry, context: LoweringContext) -> String {
        "the device's defaults give the layer to another algorithm"
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
