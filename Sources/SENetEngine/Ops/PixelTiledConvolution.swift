import OpenCLKit
import SENetCore

/// `conv_tiled.cl`: vectors of output pixels times output channels, as a GEMM for 1×1 stride-1
/// layers, a strided 1×1 kernel, im2col then GEMM (when the tiling asks and scratch exists), or
/// the direct kernel. It runs every geometry, grouped ones included, in either family.
struct PixelTiledConvolution: ConvAlgorithm {
    let name = "tiled"
    let packing: any ConvWeightPacking = OutputChannelBlocks()

    func unsupportedReason(_ g: ConvGeometry, context: LoweringContext) -> String? { nil }

    func defaultTiling(_ g: ConvGeometry, context: LoweringContext) -> ConvolutionTiling? {
        let tiling = g.cpuDefaultTiling(context)
        return tiling.kernel == .pixelVector ? .cpu(tiling) : nil
    }

    func invalidReason(_ tiling: ConvolutionTiling, _ g: ConvGeometry, context: LoweringContext) -> String? {
        guard case .cpu(let tiling) = tiling, tiling.kernel == .pixelVector else {
            return "it is not a tiled (pixel-vector) tiling"
        }
        if let reason = tiling.invalidReason(on: context.device) { return reason }
        if !tiling.fits(g) { return "grouped layers need the direct pixel-vector kernel with a tile inside one group" }
        if context.precision == .fp16 && context.arithmetic == .fp16 && g.groups == 1 {
            return "--arithmetic fp16 asks for half arithmetic, which tiled has not"
        }
        return nil
    }

    func scratchBytes(_ g: ConvGeometry, tiling: ConvolutionTiling, elementBytes: Int, context: LoweringContext) -> Int {
        guard case .cpu(let tiling) = tiling else { return 0 }
        return TiledConvolution.scratchCount(g, tiling: tiling) * elementBytes
    }

    func make(_ b: DeviceBinding, geometry g: ConvGeometry, tiling: ConvolutionTiling, relu: Bool) throws -> DeviceOp {
        guard case .cpu(let tiling) = tiling, tiling.kernel == .pixelVector else {
            preconditionFailure("\(name) given \(tiling)")
        }
        return try TiledConvolution.make(b, geometry: g, tiling: tiling, relu: relu)
    }

    func selfCheckTilings(device: CLDevice, precision: Precision) -> [ConvolutionTiling] {
        [ConvTiling(channels: 16, pixels: 16, im2col: true), ConvTiling(channels: 4, pixels: 8, localSize: 8)].map(
            ConvolutionTiling.cpu)
    }

    /// Grouped layers: tiles inside one group; otherwise the pixel-vector candidates (none in
    /// the GPU family, whose ungrouped layers gemm-gpu runs, or when `--arithmetic fp16` asks
    /// for half arithmetic, which this kernel has not).
    func tuningCandidates(_ g: ConvGeometry, context: LoweringContext) -> [ConvolutionTiling] {
        if g.groups > 1 { return ConvTuner.groupedCandidates(g, device: context.device).map(ConvolutionTiling.cpu) }
        if context.family == .gpu || (context.precision == .fp16 && context.arithmetic == .fp16) { return [] }
        return ConvTuner.candidates(for: context.device, precision: context.precision, arithmetic: context.arithmetic)
            .filter { $0.kernel == .pixelVector }.map(ConvolutionTiling.cpu)
    }
}
