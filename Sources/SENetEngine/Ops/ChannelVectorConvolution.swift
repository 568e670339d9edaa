import OpenCLKit
import SENetCore

/// `conv_ocvec.cl`: vectors of output channels times broadcast pixels, batch folded into the
/// pixels, no im2col (MLAS's register tile). The CPU family's default for most layers, grouped
/// ones of at least 8 channels per group included (vectors inside one group); the only kernel
/// with half arithmetic.
struct ChannelVectorConvolution: ConvAlgorithm {
    let name = "ocvec"
    let packing: any ConvWeightPacking = OutputChannelBlocks()

    func unsupportedReason(_ g: ConvGeometry, context: LoweringContext) -> String? {
        g.groups > 1 && context.family == .gpu ? "the GPU family runs grouped layers with tiled" : nil
    }

    func defaultTiling(_ g: ConvGeometry, context: LoweringContext) -> ConvolutionTiling? {
        let tiling = g.cpuDefaultTiling(context)
        return tiling.kernel == .channelVector ? .cpu(tiling) : nil
    }

    func invalidReason(_ tiling: ConvolutionTiling, _ g: ConvGeometry, context: LoweringContext) -> String? {
        guard case .cpu(let tiling) = tiling, tiling.kernel == .channelVector else { return "it is not an ocvec tiling" }
        if let reason = tiling.invalidReason(on: context.device) { return reason }
        if !tiling.fits(g) {
            return "its \(tiling.channels) channels per tile do not divide the group's \(g.outChannels / g.groups)"
        }
        return nil
    }

    func scratchBytes(_ g: ConvGeometry, tiling: ConvolutionTiling, elementBytes: Int, context: LoweringContext) -> Int { 0 }

    func make(_ b: DeviceBinding, geometry g: ConvGeometry, tiling: ConvolutionTiling, relu: Bool) throws -> DeviceOp {
        guard case .cpu(let tiling) = tiling, tiling.kernel == .channelVector else {
            preconditionFailure("\(name) given \(tiling)")
        }
        return try TiledConvolution.make(b, geometry: g, tiling: tiling, relu: relu)
    }

    func selfCheckTilings(device: CLDevice, precision: Precision) -> [ConvolutionTiling] {
        let plain = [
            ConvTiling(vectors: 2, vectorWidth: 8, pixels: 5, localSize: 4),
            ConvTiling(vectors: 4, vectorWidth: 4, pixels: 3, localSize: nil),
        ]
        let half = precision == .fp16 && device.supportsFP16 ? plain.map { $0.withHalfArithmetic() } : []
        return (plain + half).map(ConvolutionTiling.cpu)
    }

    /// None in the GPU family, whose layers gemm-gpu runs.
    func tuningCandidates(_ g: ConvGeometry, context: LoweringContext) -> [ConvolutionTiling] {
        guard context.family == .cpu else { return [] }
        return ConvTuner.candidates(for: context.device, precision: context.precision, arithmetic: context.arithmetic)
            .filter { $0.kernel == .channelVector && $0.fits(g) }.map(ConvolutionTiling.cpu)
    }
}
