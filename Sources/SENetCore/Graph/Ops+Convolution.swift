/// Convolution with folded BatchNorm bias and optional ReLU (NCHW).
public struct Conv2d: GraphOp {
    public static let kind = OpKind(rawValue: "conv")
    public let layer: ConvLayer
    /// The convolution on this graph's input shape.
    public let geometry: ConvGeometry

    public init(layer: ConvLayer, geometry: ConvGeometry) { (self.layer, self.geometry) = (layer, geometry) }

    public var name: String { layer.name }
    /// [OC, IC / groups, K, K] and [OC].
    public var parameters: [Tensor] { [layer.weight, layer.bias] }
    public var macs: Int { geometry.macs }

    public func reference(_ inputs: [Tensor]) -> Tensor { Reference.convolution(inputs[0], layer) }
}

/// Max pooling over square windows; `ceilMode` and `padding` follow PyTorch.
public struct MaxPool2d: GraphOp {
    public static let kind = OpKind(rawValue: "maxpool")
    public let name: String
    public let kernel: Int, stride: Int, padding: Int
    public let ceilMode: Bool
    /// [N, C, H, W] of the input.
    public let inputShape: [Int]

    public init(name: String, kernel: Int, stride: Int, padding: Int, ceilMode: Bool, inputShape: [Int]) {
        (self.name, self.kernel, self.stride, self.padding, self.ceilMode) = (name, kernel, stride, padding, ceilMode)
        self.inputShape = inputShape
    }

    public func reference(_ inputs: [Tensor]) -> Tensor {
        Reference.maxPool2d(inputs[0], kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
    }
}

/// Average pooling over square windows, padding and the part of a ceil-mode window past the
/// edge not counted (PyTorch `count_include_pad=False`): timm's `avg_down` shortcut.
public struct AvgPool2d: GraphOp {
    public static let kind = OpKind(rawValue: "avgpool2d")
    public let name: String
    public let window: PoolWindow
    /// [N, C, H, W] of the input.
    public let inputShape: [Int]

    public init(name: String, window: PoolWindow, inputShape: [Int]) {
        (self.name, self.window, self.inputShape) = (name, window, inputShape)
    }

    public func reference(_ inputs: [Tensor]) -> Tensor { Reference.averagePool2d(inputs[0], window: window) }
}

/// Mean over each channel's plane: [N, C, H, W] → [N, C], fp32 sums.
public struct GlobalAveragePool: GraphOp {
    public static let kind = OpKind(rawValue: "avgpool")
    public let name: String
    /// [N, C, H, W] of the input.
    public let inputShape: [Int]

    public init(name: String, inputShape: [Int]) { (self.name, self.inputShape) = (name, inputShape) }

    public func reference(_ inputs: [Tensor]) -> Tensor { Reference.globalAveragePool(inputs[0]) }
}
