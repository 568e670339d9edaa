import Foundation
import SENetCore

/// Measures an int8 calibration for `engine`'s model: weight scales per output channel, and
/// each int8 op's input scale from the feature maps the engine computes on calibration data
/// (on its device, or the CPU reference).
public enum Int8Calibrator {
    /// The clips tried for each feature map; the one with the smallest measured error wins.
    public static let clips: [(method: String, fraction: Double?)] = [
        ("max", nil), ("p99.999", 0.99999), ("p99.99", 0.9999), ("p99.9", 0.999),
    ]

    /// Why each kind without an int8 form here stays in fp32.
    static let fp32Reasons: [String: String] = [
        "maxpool": "max pooling needs no scale of its own (it commutes with quantization); it runs on the stem's output in fp32",
        "avgpool": "the global average feeds the squeeze-excite gate and the classifier; its sums need more than 8 bits",
        "avgpool2d": "an average of the shortcut's map; its sums need more than 8 bits",
        "scale_add_relu":
            "the residual add of two maps with scales of their own; requantizing both would add two roundings per block",
        "softmax": "probabilities from the logits, in fp32",
        "cast": "a precision change, not arithmetic",
    ]
    static let squeezeExciteReason =
        "squeeze-excite FC: under 1 % of the network's multiply-adds, on a pooled vector; its sigmoid gate scales whole channels, so its error would reach every value of the block"

    /// The ops of `graph` as a calibration file must list them.
    public static func expectedOps(_ graph: NetworkGraph) -> [Int8Calibration.Expected] {
        graph.nodes.map { node in
            let channels = (node.op as? Conv2d)?.layer.weight.shape[0] ?? (node.op as? Linear)?.outFeatures
            return .init(name: node.name, kind: node.kind.rawValue, outputChannels: channels)
        }
    }

    /// Runs `batches` through `engine`, watching the input of every op that will be int8.
    public static func calibrate(engine: InferenceEngine, batches: [Tensor], origin: String) throws -> Int8Calibration {
        guard let first = batches.first else { throw InputError.invalidInputShape(shape: []) }
        let graph = try engine.plan(for: first.shape).graph
        let int8Nodes = graph.nodes.filter { isInt8($0, graph) }
        let watched = Set(int8Nodes.map { $0.inputs[0] })
        var histograms: [Int: ActivationHistogram] = [:]
        for batch in batches {
            if watched.contains(graph.input) { histograms[graph.input, default: .init()].add(batch.data) }
            _ = try engine.plan(for: batch.shape).run(batch) { node, output in
                if watched.contains(node.output) { histograms[node.output, default: .init()].add(output.data) }
            }
        }
        let ops = graph.nodes.map { node -> Int8Calibration.Op in
            guard isInt8(node, graph), let histogram = histograms[node.inputs[0]] else {
                return .init(name: node.name, kind: node.kind.rawValue, precision: .fp32, reason: fp32Reason(node))
            }
            return int8Op(node, input: histogram)
        }
        let images = batches.reduce(0) { $0 + $1.shape[0] }
        return Int8Calibration(
            model: engine.model.architecture.modelName,
            calibration: .init(images: images, inputShape: [images] + first.shape.dropFirst(), origin: origin), ops: ops)
    }

    /// Convolutions and the classifier; the squeeze-excite FCs stay fp32.
    static func isInt8(_ node: GraphNode, _ graph: NetworkGraph) -> Bool {
        if node.op is Conv2d { return true }
        return node.op is Linear && node.output == graph.logits
    }

    static func fp32Reason(_ node: GraphNode) -> String {
        if node.op is Linear { return squeezeExciteReason }
        return fp32Reasons[node.kind.rawValue] ?? "no int8 form"
    }

    static func int8Op(_ node: GraphNode, input: ActivationHistogram) -> Int8Calibration.Op {
        let weight = (node.op as? Conv2d)?.layer.weight ?? (node.op as! Linear).weight
        var op = Int8Calibration.Op(
            name: node.name, kind: node.kind.rawValue, precision: .int8,
            reason: "int8 weights (a scale per output channel) and input, int32 accumulation")
        let (scales, weightError) = weightScales(weight)
        (op.weightScales, op.weightError) = (scales, weightError)
        let (clip, method, error) = bestClip(input)
        op.inputScale = clip > 0 ? clip / 127 : 1
        (op.inputMethod, op.inputError, op.inputNonNegative) = (method, Float(error), input.isNonNegative)
        return op
    }

    /// max |w| / 127 per output channel (1 for a channel of zeros, which stays exact), and the
    /// relative RMS error of the weights so quantized.
    public static func weightScales(_ weight: Tensor) -> (scales: [Float], relativeError: Float) {
        let channels = weight.shape[0]
        let perChannel = weight.count / channels
        var (squaredError, squared) = (0.0, 0.0)
        let scales = (0..<channels).map { channel -> Float in
            let row = weight.data[(channel * perChannel)..<((channel + 1) * perChannel)]
            let largest = row.reduce(0) { max($0, abs($1)) }
            let scale = largest > 0 ? largest / 127 : 1
            for value in row {
                let restored = (value / scale).rounded().clamped(to: -127...127) * scale
                squaredError += Double((restored - value) * (restored - value))
                squared += Double(value * value)
            }
            return scale
        }
        return (scales, squared > 0 ? Float((squaredError / squared).squareRoot()) : 0)
    }

    /// The clip of `clips` whose quantization error on `histogram` is smallest.
    public static func bestClip(_ histogram: ActivationHistogram) -> (clip: Float, method: String, error: Double) {
        var best: (clip: Float, method: String, error: Double) = (histogram.maximum, "max", .infinity)
        for (method, fraction) in clips {
            let clip = fraction.map { histogram.percentile($0) } ?? histogram.maximum
            guard clip > 0 else { continue }
            let error = histogram.relativeError(clip: clip)
            if error < best.error { best = (clip, method, error) }
        }
        return best.error.isFinite ? best : (histogram.maximum, "max", 0)
    }
}

extension Comparable {
    fileprivate func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
