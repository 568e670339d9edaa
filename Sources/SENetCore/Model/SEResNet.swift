/// A convolution with BatchNorm folded into its weight and bias, and its optional ReLU.
public struct ConvLayer: Sendable {
    /// Name used in plans and `compare`, e.g. `layer2.0.conv1`.
    public let name: String
    /// [OC, IC / groups, K, K]
    public let weight: Tensor
    /// [OC]
    public let bias: Tensor
    public let stride: Int
    public let padding: Int
    public let relu: Bool
    /// Channel groups (SE-ResNeXt's cardinality on its 3×3 layers); 1 for a plain convolution.
    public let groups: Int

    public init(name: String, weight: Tensor, bias: Tensor, stride: Int, padding: Int, relu: Bool, groups: Int = 1) {
        (self.name, self.weight, self.bias, self.stride, self.padding, self.relu) = (name, weight, bias, stride, padding, relu)
        self.groups = groups
    }

    public var outChannels: Int { weight.shape[0] }

    /// The same layer under another name.
    public func renamed(_ name: String) -> ConvLayer {
        ConvLayer(name: name, weight: weight, bias: bias, stride: stride, padding: padding, relu: relu, groups: groups)
    }
    /// Input channels of the whole layer (the weight holds `inChannels / groups` per output).
    public var inChannels: Int { weight.shape[1] * groups }
    public var kernel: Int { weight.shape[2] }

    /// Geometry of this layer on an input of [batch, C, height, width].
    public func geometry(batch: Int, height: Int, width: Int) -> ConvGeometry {
        ConvGeometry(
            batch: batch, inChannels: inChannels, height: height, width: width, outChannels: outChannels,
            kernel: kernel, stride: stride, padding: padding, groups: groups)
    }
}

/// Squeeze-excite: global pool → FC(C→R) → ReLU → FC(R→C) → sigmoid, as matrices.
public struct SqueezeExciteLayer: Sendable {
    public let name: String
    /// [R, C] and [R]
    public let reduceWeight: Tensor, reduceBias: Tensor
    /// [C, R] and [C]
    public let expandWeight: Tensor, expandBias: Tensor

    public var channels: Int { reduceWeight.shape[1] }
    public var reducedWidth: Int { reduceWeight.shape[0] }
}

/// One residual block: branch convs, SE on the branch, shortcut (identity or 1×1 conv), add, ReLU.
public struct ResidualBlock: Sendable {
    public let name: String
    public let convs: [ConvLayer]
    public let squeezeExcite: SqueezeExciteLayer
    /// Average pool on the shortcut before `downsample` (timm's "d"/"t" variants), if any.
    public let shortcutPool: PoolWindow?
    public let downsample: ConvLayer?

    public init(
        name: String, convs: [ConvLayer], squeezeExcite: SqueezeExciteLayer, shortcutPool: PoolWindow? = nil,
        downsample: ConvLayer?
    ) {
        (self.name, self.convs, self.squeezeExcite) = (name, convs, squeezeExcite)
        (self.shortcutPool, self.downsample) = (shortcutPool, downsample)
    }
}

/// A max-pooling window: size, stride, padding and PyTorch's ceil mode.
public struct PoolWindow: Equatable, Sendable {
    public let kernel: Int, stride: Int, padding: Int
    public let ceilMode: Bool

    public init(kernel: Int, stride: Int, padding: Int, ceilMode: Bool) {
        (self.kernel, self.stride, self.padding, self.ceilMode) = (kernel, stride, padding, ceilMode)
    }

    /// Output extent along an axis of `input`.
    public func outputSize(_ input: Int) -> Int {
        windowOutputSize(input: input, kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
    }
}

/// A whole SE-ResNet, ready to run: BatchNorm folded, shapes checked, family semantics resolved.
/// `NetworkGraph(model:inputShape:)` turns it into ops.
public struct SEResNet: Sendable {
    public let architecture: Architecture
    /// One 7×7 stride-2 conv, or three 3×3 in deep stems; each with ReLU.
    public let stem: [ConvLayer]
    /// The max-pool after the stem (padding and ceil mode by family).
    public let stemPool: PoolWindow
    public let blocks: [ResidualBlock]
    /// [classes, features] and [classes]
    public let classifierWeight: Tensor, classifierBias: Tensor
    /// Problems found while loading that do not stop it (NaN or infinite weights, by tensor).
    public var warnings: [String] = []
    /// Layer name → the weight file's name for that layer's weight matrix (what the device
    /// stores), so errors about it name the file's tensor. Empty for synthetic models.
    public var weightNames: [String: String] = [:]
    /// Canonical layer name (`layer2.0.conv1`, `layer2.0.se.fc1`, `stem.pool`) → the name to
    /// show for it: an ONNX file's node names. Empty for safetensors models.
    public var layerNames: [String: String] = [:]
    /// The model's own output is the softmax of the logits (an ONNX graph ending in Softmax).
    public var outputsProbabilities = false
    /// Canonical pool name (`layer1.0.se.pool`, `pool`) → the window of a fixed-size
    /// AveragePool an ONNX file uses as a global pool (the classic SENet's `AvgPool2d(56)`):
    /// the network runs only at input sizes where that pool sees exactly that map.
    public var fixedPoolWindows: [String: [Int]] = [:]
    /// Where a model not described by its architecture alone came from (`ONNX, pytorch 2.15.0,
    /// opset 17`); nil for safetensors models.
    public var origin: String?

    /// One line for people: `seresnet50 (timm family, 1000 classes)`, or for an ONNX file the
    /// architecture it matches and where it came from.
    public var summary: String {
        guard let origin else { return architecture.description }
        let output = outputsProbabilities ? "; outputs probabilities (the graph ends in Softmax)" : ""
        return "\(architecture.modelName)-shaped graph (\(origin); \(architecture.numClasses) classes\(output))"
    }

    /// The name to show for canonical layer `name`.
    public func displayName(_ name: String) -> String { layerNames[name] ?? name }

    /// Multiply-accumulates of one forward pass on one image of `height`×`width`.
    public func macs(height: Int, width: Int) throws -> Int {
        try NetworkGraph(model: self, inputShape: [1, 3, height, width]).macs
    }
}
