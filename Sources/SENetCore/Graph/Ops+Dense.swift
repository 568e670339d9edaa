import Foundation

/// What follows a fully connected layer.
public enum Activation: String, Sendable, Codable {
    case none, relu, sigmoid
}

/// Fully connected layer: [N, F] × weight [K, F]ᵀ + bias [K] → [N, K], then `activation`.
/// The classifier and both squeeze-excite FCs.
public struct Linear: GraphOp {
    public static let kind = OpKind(rawValue: "linear")
    public let name: String
    /// [K, F] and [K].
    public let weight: Tensor, bias: Tensor
    public let activation: Activation
    public let batch: Int

    public init(name: String, weight: Tensor, bias: Tensor, activation: Activation, batch: Int) {
        (self.name, self.weight, self.bias, self.activation, self.batch) = (name, weight, bias, activation, batch)
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }
    public var parameters: [Tensor] { [weight, bias] }
    public var macs: Int { batch * weight.count }

    public func reference(_ inputs: [Tensor]) -> Tensor {
        let y = Reference.linear(inputs[0], weight: weight, bias: bias)
        switch activation {
        case .none: return y
        case .relu: return Reference.relu(y)
        case .sigmoid: return Reference.sigmoid(y)
        }
    }
}

/// The end of a residual block: relu(branch · scale + shortcut), scale per channel.
/// Inputs: branch [N, C, H, W], scale [N, C], shortcut [N, C, H, W].
public struct ScaleAddReLU: GraphOp {
    public static let kind = OpKind(rawValue: "scale_add_relu")
    public let name: String
    /// [N, C, H, W]
    public let shape: [Int]

    public init(name: String, shape: [Int]) { (self.name, self.shape) = (name, shape) }

    public func reference(_ inputs: [Tensor]) -> Tensor {
        Reference.relu(Reference.add(Reference.channelScale(inputs[0], scale: inputs[1]), inputs[2]))
    }
}

/// Softmax over each row of [N, K].
public struct Softmax: GraphOp {
    public static let kind = OpKind(rawValue: "softmax")
    public let name: String
    /// [N, K]
    public let shape: [Int]

    public init(name: String, shape: [Int]) { (self.name, self.shape) = (name, shape) }

    public func reference(_ inputs: [Tensor]) -> Tensor { Reference.softmax(inputs[0]) }
}
