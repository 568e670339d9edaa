import OpenCLKit
import SENetCore

extension ConvTuner {
    /// Times every registered algorithm that can run `g` in `context` with each of its tuning
    /// candidates, after checking each against the reference, and returns the fastest
    /// (algorithm, tiling); the default stays unless a finalist beats it by 3 %. A new
    /// algorithm is tuned by listing its candidates: nothing here names one.
    public static func tune(_ g: ConvGeometry, context: LoweringContext, repeats: Int = 3) throws -> Result<TunedConvolution> {
        let untuned = LoweringContext(
            runtime: context.runtime, family: context.family, precision: context.precision, arithmetic: context.arithmetic,
            winograd: context.winograd)
        let candidates = candidates(g, context: untuned)
        let chosen = ConvAlgorithms.select(g, context: untuned)
        let fallback = TunedConvolution(algorithm: chosen.algorithm.name, tiling: chosen.tiling)
        let storage = context.precision.storage
        let scratchBytes =
            (candidates + [fallback]).map { entry in
                ConvAlgorithms.named(entry.algorithm)!.scratchBytes(
                    g, tiling: entry.tiling, elementBytes: storage.byteSize, context: untuned)
            }.max() ?? 0
        let scratch = scratchBytes > 0 ? try context.runtime.buffer(bytes: scratchBytes) : nil
        let values = (
            input: ValueInfo(name: "input", shape: g.inputShape, elementType: storage),
            output: ValueInfo(name: "output", shape: g.outputShape, elementType: storage)
        )
        // Each packing of the weight once, shared by the algorithms that read it.
        var packed: [String: CLBuffer] = [:]
        return try search(
            g, runtime: context.runtime, precision: context.precision, candidates: candidates, fallback: fallback,
            repeats: repeats
        ) { entry, buffers in
            let algorithm = ConvAlgorithms.named(entry.algorithm)!
            let packing = algorithm.packing
            if packed[packing.name] == nil {
                packed[packing.name] = try context.runtime.upload(packing.pack(buffers.weight), as: storage)
            }
            let binding = DeviceBinding(
                context: untuned, inputValues: [values.input], outputValue: values.output, inputs: [buffers.input],
                output: buffers.output, weights: [packed[packing.name]!, buffers.bias], scratch: scratch)
            return try algorithm.make(binding, geometry: g, tiling: entry.tiling, relu: false)
        }
    }
}

extension ConvTuner {
    /// What `tune(_:context:)` times: each registered algorithm that can run `g` in `context`,
    /// with each of its tuning candidates.
    public static func candidates(_ g: ConvGeometry, context: LoweringContext) -> [TunedConvolution] {
        ConvAlgorithms.registered.filter { $0.unsupportedReason(g, context: context) == nil }.flatMap { algorithm in
            algorithm.tuningCandidates(g, context: context).map { TunedConvolution(algorithm: algorithm.name, tiling: $0) }
        }
    }
}

extension TunedConvolution: HalfArithmeticTiling {
    public var halfArithmetic: Bool {
        get { tiling.halfArithmetic }
        set { tiling = tiling.withHalfArithmetic(newValue) }
    }
}
