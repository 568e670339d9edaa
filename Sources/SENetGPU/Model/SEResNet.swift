/// A convolution with BatchNorm folded into its weight and bias, and its optional ReLU.
public struct ConvLayer: Sendable {
    /// Name used in plans and `compare`, e.g. `layer2.0.conv1`.
    public let name: String
    /// [OC, IC, K, K]
    public let weight: Tensor
    /// [OC]
    public let bias: Tensor
    public let stride: Int
    public let padding: Int
    public let relu: Bool

    public var outChannels: Int { weight.shape[0] }
    public var inChannels: Int { weight.shape[1] }
    public var kernel: Int { weight.shape[2] }

    /// Geometry of this layer on an input of [batch, C, height, width].
    public func geometry(batch: Int, height: Int, width: Int) -> ConvGeometry {
        ConvGeometry(
            batch: batch, inChannels: inChannels, height: height, width: width, outChannels: outChannels,
            kernel: kernel, stride: stride, padding: padding)
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
    public let downsample: ConvLayer?
}

/// A whole SE-ResNet, ready to run: BatchNorm folded, shapes checked, family semantics resolved.
public struct SEResNet: Sendable {
    public let architecture: Architecture
    /// 7×7 stride-2 conv with ReLU.
    public let stem: ConvLayer
    /// 3×3 stride-2 max-pool after the stem.
    public let stemPoolPadding: Int
    public let stemPoolCeilMode: Bool
    public let blocks: [ResidualBlock]
    /// [classes, features] and [classes]
    public let classifierWeight: Tensor, classifierBias: Tensor
    /// Problems found while loading that do not stop it (NaN or infinite weights, by tensor).
    public var warnings: [String] = []

    /// Every convolution's geometry, in execution order, for inputs of [batch, 3, height, width].
    public func convolutionGeometries(batch: Int, height: Int, width: Int) -> [(name: String, geometry: ConvGeometry)] {
        var result: [(String, ConvGeometry)] = []
        func conv(_ layer: ConvLayer, _ h: Int, _ w: Int) -> (Int, Int) {
            let g = layer.geometry(batch: batch, height: h, width: w)
            result.append((layer.name, g))
            return (g.outHeight, g.outWidth)
        }
        var (h, w) = conv(stem, height, width)
        h = windowOutputSize(input: h, kernel: 3, stride: 2, padding: stemPoolPadding, ceilMode: stemPoolCeilMode)
        w = windowOutputSize(input: w, kernel: 3, stride: 2, padding: stemPoolPadding, ceilMode: stemPoolCeilMode)
        for block in blocks {
            if let downsample = block.downsample { _ = conv(downsample, h, w) }
            for layer in block.convs { (h, w) = conv(layer, h, w) }
        }
        return result.map { (name: $0.0, geometry: $0.1) }
    }

    /// Multiply-accumulates of one forward pass on one image of `height`×`width`.
    public func macs(height: Int, width: Int) -> Int {
        let convolutions = convolutionGeometries(batch: 1, height: height, width: width).reduce(0) { $0 + $1.geometry.macs }
        let excitations = blocks.reduce(0) { $0 + 2 * $1.squeezeExcite.channels * $1.squeezeExcite.reducedWidth }
        return convolutions + excitations + classifierWeight.count
    }
}
