import Foundation

/// The network as int8 computes it, on the CPU: every int8 op reads its input rounded to its
/// scale's grid (clamped to ±127 steps) and its weights rounded per output channel, and
/// accumulates exactly those values; everything else runs as the fp32 reference does. Integer
/// products summed in fp32 are exact below 2²⁴, so this is what an int8 kernel with int32
/// accumulation computes, up to fp32 rounding of the sums: the oracle int8 kernels are checked
/// against, and what tells whether a calibration keeps the logits close to fp32.
public struct Int8Simulation: Sendable {
    public let graph: NetworkGraph
    private let inputScales: [String: Float]
    /// The int8 ops, their weights rounded to their grids.
    private let rounded: [String: any GraphOp]

    public init(graph: NetworkGraph, calibration: Int8Calibration) {
        self.graph = graph
        var scales: [String: Float] = [:]
        var ops: [String: any GraphOp] = [:]
        let byName = Dictionary(calibration.ops.map { ($0.name, $0) }) { first, _ in first }
        for node in graph.nodes {
            guard let entry = byName[node.name], entry.precision == .int8, let weightScales = entry.weightScales,
                let inputScale = entry.inputScale
            else { continue }
            scales[node.name] = inputScale
            if let conv = node.op as? Conv2d {
                let layer = conv.layer
                let weight = Self.roundedPerChannel(layer.weight, weightScales)
                ops[node.name] = Conv2d(
                    layer: ConvLayer(
                        name: layer.name, weight: weight, bias: layer.bias, stride: layer.stride, padding: layer.padding,
                        relu: layer.relu, groups: layer.groups), geometry: conv.geometry)
            } else if let linear = node.op as? Linear {
                ops[node.name] = Linear(
                    name: linear.name, weight: Self.roundedPerChannel(linear.weight, weightScales), bias: linear.bias,
                    activation: linear.activation, batch: linear.batch)
            }
        }
        (inputScales, rounded) = (scales, ops)
    }

    /// Logits and probabilities of `input` computed as int8 would.
    public func run(_ input: Tensor) -> NetworkGraph.ReferenceOutput {
        var live: [Int: Tensor] = [graph.input: input]
        for node in graph.nodes {
            var inputs = node.inputs.map { live[$0]! }
            if let scale = inputScales[node.name] { inputs[0] = Self.rounded(inputs[0], scale: scale) }
            live[node.output] = (rounded[node.name] ?? node.op).reference(inputs)
        }
        return .init(logits: live[graph.logits]!, probabilities: live[graph.probabilities]!)
    }

    /// `tensor` on the int8 grid of `scale`: round(x / scale) clamped to ±127, times scale.
    public static func rounded(_ tensor: Tensor, scale: Float) -> Tensor {
        Tensor(shape: tensor.shape, data: tensor.data.map { min(max(($0 / scale).rounded(), -127), 127) * scale })
    }

    /// `weight` [OC, …] on each output channel's grid.
    static func roundedPerChannel(_ weight: Tensor, _ scales: [Float]) -> Tensor {
        let perChannel = weight.count / weight.shape[0]
        var data = weight.data
        for index in data.indices {
            let scale = scales[index / perChannel]
            data[index] = min(max((data[index] / scale).rounded(), -127), 127) * scale
        }
        return Tensor(shape: weight.shape, data: data)
    }
}
