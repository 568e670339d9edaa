import OpenCLKit
import SENetCore

extension KernelSelfCheck {
    /// Every registered convolution algorithm with each of its `selfCheckTilings` on `g`, in
    /// the first kernel family where it applies (an algorithm that runs in neither is skipped:
    /// it has no layer of this shape to run).
    static func algorithms(
        on runtime: DeviceRuntime, _ g: ConvGeometry, relu: Bool, seed: UInt64, precision: Precision
    ) throws -> [Result] {
        var results: [Result] = []
        for algorithm in ConvAlgorithms.registered {
            for tiling in algorithm.selfCheckTilings(device: runtime.device, precision: precision) {
                if let result = try convolution(
                    on: runtime, g, algorithm: algorithm, tiling: tiling, relu: relu, seed: seed, precision: precision)
                {
                    results.append(result)
                }
            }
        }
        return results
    }

    /// `algorithm` with `tiling` on `g` (+ ReLU) against `Reference.conv2d`, through its own
    /// packing, scratch and launches, in the family the tiling is for; nil when it applies in
    /// neither kernel family.
    public static func convolution(
        on runtime: DeviceRuntime, _ g: ConvGeometry, algorithm: any ConvAlgorithm, tiling: ConvolutionTiling, relu: Bool,
        seed: UInt64, precision: Precision = .fp32
    ) throws -> Result? {
        // The family whose kernels the tiling is for (Winograd runs in both), else the first
        // where the algorithm applies.
        let applies = KernelFamily.allCases.filter {
            algorithm.unsupportedReason(g, context: LoweringContext(runtime: runtime, family: $0, precision: precision)) == nil
        }
        let family =
            applies.first {
                algorithm.invalidReason(
                    tiling, g, context: LoweringContext(runtime: runtime, family: $0, precision: precision)) == nil
            } ?? applies.first
        guard let family else { return nil }
        let layer = ConvLayer(
            name: "check", weight: Tensor.random(shape: g.weightShape, seed: seed &+ 1),
            bias: Tensor.random(shape: [g.outChannels], seed: seed &+ 2), stride: g.stride, padding: g.padding, relu: relu,
            groups: g.groups)
        let op = ForcedConvolution(conv: Conv2d(layer: layer, geometry: g), algorithm: algorithm, tiling: tiling)
        let shape =
            "\(algorithm.name) \(g.inputShape) k\(g.kernelHeight) s\(g.stride) p\(g.padding)"
            + "\(g.groups > 1 ? " g\(g.groups)" : "")\(relu ? " relu" : "") \(tiling)"
        return try check(
            op, [Tensor.random(shape: g.inputShape, seed: seed)], output: g.outputShape, on: runtime, shape: shape,
            family: family, precision: precision, halfArithmetic: tiling.halfArithmetic)
    }
}

/// A convolution that runs one algorithm with one tiling whatever the selector would choose:
/// how the self-check reaches every algorithm and tiling.
struct ForcedConvolution: DeviceLowerable {
    static let kind = Conv2d.kind
    let conv: Conv2d
    let algorithm: any ConvAlgorithm
    let tiling: ConvolutionTiling

    var name: String { conv.name }
    var parameters: [Tensor] { conv.parameters }
    func reference(_ inputs: [Tensor]) -> Tensor { conv.reference(inputs) }

    func deviceParameters(_ context: LoweringContext) -> [Tensor] {
        [algorithm.packing.pack(conv.layer.weight), conv.layer.bias]
    }
    func deviceParameterShapes(_ context: LoweringContext) -> [[Int]] {
        [algorithm.packing.packedShape(conv.layer.weight.shape), conv.layer.bias.shape]
    }
    func parameterLayout(_ context: LoweringContext) -> String { algorithm.packing.name }
    func scratchBytes(output: ValueInfo, context: LoweringContext) -> Int {
        algorithm.scratchBytes(conv.geometry, tiling: tiling, elementBytes: output.elementType.byteSize, context: context)
    }
    func makeDeviceOp(_ binding: DeviceBinding) throws -> DeviceOp {
        try algorithm.make(binding, geometry: conv.geometry, tiling: tiling, relu: conv.layer.relu)
    }
}
