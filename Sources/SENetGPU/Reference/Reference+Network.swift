extension Reference {
    /// The whole SE-ResNet, one reference op at a time.
    /// - input: [N, 3, H, W], normalised
    /// - returns: logits [N, classes]
    /// - observe: called with each layer's name and output, in order (`compare` uses it).
    public static func forward(
        _ model: SEResNet, input: Tensor, observe: ((String, Tensor) -> Void)? = nil
    ) -> Tensor {
        // Stem: conv 7×7/2 + ReLU, max-pool 3×3/2 (padding and ceil mode by family).
        var x = convolution(input, model.stem)
        observe?(model.stem.name, x)
        x = maxPool2d(x, kernel: 3, stride: 2, padding: model.stemPoolPadding, ceilMode: model.stemPoolCeilMode)
        observe?("stem.pool", x)

        for block in model.blocks {
            x = residualBlock(x, block, observe: observe)
            observe?(block.name, x)
        }

        // Head: global average pool [N, C], classifier [N, classes].
        let features = globalAveragePool(x)
        observe?("pool", features)
        let logits = linear(features, weight: model.classifierWeight, bias: model.classifierBias)
        observe?("classifier", logits)
        return logits
    }

    /// relu(branch(x) · se(branch(x)) + shortcut(x)).
    static func residualBlock(_ x: Tensor, _ block: ResidualBlock, observe: ((String, Tensor) -> Void)?) -> Tensor {
        var branch = x
        for layer in block.convs {
            branch = convolution(branch, layer)
            observe?(layer.name, branch)
        }
        let scale = squeezeExcite(branch, block.squeezeExcite)  // [N, C]
        observe?(block.squeezeExcite.name, scale)
        var shortcut = x
        if let downsample = block.downsample {
            shortcut = convolution(x, downsample)
            observe?(downsample.name, shortcut)
        }
        return relu(add(channelScale(branch, scale: scale), shortcut))
    }

    /// The excitation: sigmoid(FC(relu(FC(mean over H×W)))) → per-channel scale [N, C].
    public static func squeezeExcite(_ x: Tensor, _ se: SqueezeExciteLayer) -> Tensor {
        let squeezed = globalAveragePool(x)  // [N, C]
        let reduced = relu(linear(squeezed, weight: se.reduceWeight, bias: se.reduceBias))  // [N, R]
        return sigmoid(linear(reduced, weight: se.expandWeight, bias: se.expandBias))  // [N, C]
    }

    /// A folded conv layer with its optional ReLU.
    public static func convolution(_ x: Tensor, _ layer: ConvLayer) -> Tensor {
        let y = conv2d(x, weight: layer.weight, bias: layer.bias, stride: layer.stride, padding: layer.padding)
        return layer.relu ? relu(y) : y
    }
}
