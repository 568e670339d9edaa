import OpenCLKit
import SENetCore

extension KernelSelfCheck {
    /// Int8 sums are exact; only the final fp32 multiply-add may round differently (a fused
    /// multiply-add on the device).
    public static let int8Tolerance: Float = 1e-6

    /// The int8 kernels: quantization (halves, clamping) bit for bit, and every registered int8
    /// algorithm the device runs on the stem, a 3×3 with channels not multiples of 4 or 8, a
    /// strided 1×1, grouped layers and the classifier as a 1×1 on a 1×1 map.
    public static func int8(on runtime: DeviceRuntime) throws -> [Result] {
        var results = [try quantize(on: runtime, shape: [2, 6, 5, 3], seed: 900)]
        for (index, g) in int8Geometries.enumerated() {
            for algorithm in Int8ConvAlgorithms.registered where algorithm.unsupportedReason(g, device: runtime.device) == nil {
                results.append(
                    try int8Convolution(on: runtime, g, algorithm: algorithm, relu: index % 2 == 0, seed: 910 + UInt64(index)))
            }
        }
        return results
    }

    /// The shapes `int8` checks.
    public static let int8Geometries = [
        ConvGeometry(batch: 2, inChannels: 3, height: 23, width: 19, outChannels: 16, kernel: 7, stride: 2, padding: 3),
        ConvGeometry(batch: 1, inChannels: 10, height: 9, width: 11, outChannels: 20, kernel: 3, stride: 1, padding: 1),
        ConvGeometry(batch: 2, inChannels: 16, height: 10, width: 10, outChannels: 24, kernel: 1, stride: 2),
        ConvGeometry(batch: 1, inChannels: 32, height: 8, width: 9, outChannels: 32, kernel: 3, stride: 2, padding: 1, groups: 4),
        ConvGeometry(batch: 2, inChannels: 16, height: 6, width: 7, outChannels: 16, kernel: 3, padding: 1, groups: 4),
        ConvGeometry(batch: 3, inChannels: 40, height: 1, width: 1, outChannels: 10, kernel: 1),
    ]

    /// Random codes in ±127.
    static func int8Codes(_ shape: [Int], seed: UInt64) -> Tensor {
        Tensor.random(shape: shape, seed: seed, in: -127.49...127.49).rounded(to: .int8)
    }

    /// One int8 algorithm on `g` against `Int8Convolution.reference`, on random codes.
    public static func int8Convolution(
        on runtime: DeviceRuntime, _ g: ConvGeometry, algorithm: any Int8ConvAlgorithm, relu: Bool, seed: UInt64
    ) throws -> Result {
        let op = Int8Convolution(
            name: "check", geometry: g, weightCodes: int8Codes(g.weightShape, seed: seed &+ 1),
            multiplier: Tensor.random(shape: [g.outChannels], seed: seed &+ 2, in: 1e-4...1e-3),
            bias: Tensor.random(shape: [g.outChannels], seed: seed &+ 3), relu: relu, outputShape: g.outputShape)
        let input = int8Codes(g.inputShape, seed: seed)
        let context = LoweringContext(runtime: runtime)
        let output = try runtime.upload(Tensor(shape: g.outputShape, repeating: .nan))
        let binding = DeviceBinding(
            context: context,
            inputValues: [ValueInfo(name: "x", shape: g.inputShape, elementType: .int8, layout: .nc4hw4)],
            outputValue: ValueInfo(name: "y", shape: g.outputShape), inputs: [try runtime.upload(input, as: .int8)],
            output: output, weights: try DeviceModel(runtime: runtime).weights(for: op, context: context), scratch: nil)
        let deviceOp = try algorithm.make(binding, op: op)
        try deviceOp.enqueue(on: runtime.queue, profile: false)
        let shape =
            "\(g.inputShape) k\(g.kernelHeight) s\(g.stride) p\(g.padding)\(g.groups > 1 ? " groups \(g.groups)" : "")"
            + "\(relu ? " relu" : "") \(algorithm.name)"
        return Result(
            kernel: deviceOp.launches.map(\.kernel.name).joined(separator: "+"), shape: shape,
            comparison: Comparison(actual: try runtime.download(output, shape: g.outputShape), expected: op.reference([input])),
            tolerance: int8Tolerance)
    }

    /// `quantize_nc4hw4` bit for bit: halves round away from zero (a power-of-two scale makes the
    /// division exact, so they are really halves), and values past ±127 steps clamp.
    public static func quantize(on runtime: DeviceRuntime, shape: [Int], seed: UInt64) throws -> Result {
        let scale: Float = 0.25
        var values = Tensor.random(shape: shape, seed: seed, in: -40...40).data
        for index in stride(from: 0, to: values.count, by: 3) { values[index] = (Float(index % 50) - 25.5) * scale }
        (values[1], values[values.count - 1]) = (1000, -1000)
        let input = Tensor(shape: shape, data: values)
        let op = Quantize(name: "check", scale: scale, shape: shape)
        let codes = ValueInfo(name: "q", shape: shape, elementType: .int8, layout: .nc4hw4)
        let output = try runtime.buffer(bytes: codes.byteCount)
        let deviceOp = try op.makeDeviceOp(
            DeviceBinding(
                context: LoweringContext(runtime: runtime), inputValues: [ValueInfo(name: "x", shape: shape)],
                outputValue: codes, inputs: [try runtime.upload(input)], output: output, weights: [], scratch: nil))
        try deviceOp.enqueue(on: runtime.queue, profile: false)
        return Result(
            kernel: "quantize_nc4hw4", shape: "\(shape) scale \(scale)",
            comparison: Comparison(
                actual: try runtime.download(output, shape: shape, as: .int8), expected: op.reference([input])),
            tolerance: 0)
    }
}
