import OpenCLKit
import SENetCore

/// `conv_gemm.cl` (`GPUConvolution`): the GPU family's ungrouped convolutions, as an implicit
/// GEMM through local memory with optional split-K.
struct GEMMGPUConvolution: ConvAlgorithm {
    let name = "gemm-gpu"
    let packing: any ConvWeightPacking = OutputChannelBlocks()

    func unsupportedReason(_ g: ConvGeometry, context: LoweringContext) -> String? {
        if context.family != .gpu { return "the plan uses the CPU kernel family" }
        if g.groups > 1 { return "it has no grouped form" }
        return nil
    }

    func defaultTiling(_ g: ConvGeometry, context: LoweringContext) -> ConvolutionTiling? {
        .gpu(GPUConvTiling.defaultFor(device: context.device, geometry: g))
    }

    func invalidReason(_ tiling: ConvolutionTiling, _ g: ConvGeometry, context: LoweringContext) -> String? {
        guard case .gpu(let tiling) = tiling else { return "it is not a gemm-gpu tiling" }
        return tiling.invalidReason(on: context.device)
    }

    func scratchBytes(_ g: ConvGeometry, tiling: ConvolutionTiling, elementBytes: Int, context: LoweringContext) -> Int {
        guard case .gpu(let tiling) = tiling else { return 0 }
        return GPUConvolution.scratchBytes(g, tiling: tiling, computeUnits: context.device.computeUnits)
    }

    func make(_ b: DeviceBinding, geometry g: ConvGeometry, tiling: ConvolutionTiling, relu: Bool) throws -> DeviceOp {
        guard case .gpu(let tiling) = tiling else { preconditionFailure("\(name) given a CPU tiling \(tiling)") }
        return try GPUConvolution.make(
            runtime: b.runtime, geometry: g, tiling: tiling, input: b.inputs[0], weightT: b.weights[0], bias: b.weights[1],
            output: b.output, relu: relu, scratch: b.scratch, types: b.types)
    }

    /// The device's default and a forced three-way split-K, where the device can run them.
    func selfCheckTilings(device: CLDevice, precision: Precision) -> [ConvolutionTiling] {
        let plain = [
            GPUConvTiling.defaultFor(device: device),
            GPUConvTiling(tileM: 32, tileN: 32, tileK: 16, workM: 2, workN: 2, slices: 3),
        ].filter { $0.fits(device) }
        let half = precision == .fp16 && device.supportsFP16 ? plain.map { $0.withHalfArithmetic() } : []
        return (plain + half).map(ConvolutionTiling.gpu)
    }

    func tuningCandidates(_ g: ConvGeometry, context: LoweringContext) -> [ConvolutionTiling] {
        ConvTuner.gpuCandidates(for: context.device, precision: context.precision, arithmetic: context.arithmetic)
            .map(ConvolutionTiling.gpu)
    }
}
