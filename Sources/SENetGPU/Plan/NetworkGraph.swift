/// The kinds of op in an SE-ResNet; `--cpu-ops` accepts these as well as layer names.
public enum OpKind: String, CaseIterable, Sendable, Codable {
    case conv, maxpool, avgpool, excite
    case scaleAddRelu = "scale_add_relu"
    case linear, softmax
}

/// What a device op is bound to at plan time.
struct DeviceBinding {
    let runtime: DeviceRuntime
    let inputs: [CLBuffer]
    let weights: [CLBuffer]
    let output: CLBuffer
    /// Shared scratch (im2col columns), at least `GraphOp.scratchCount` floats; nil when none.
    let scratch: CLBuffer?
    let perturb: Bool
}

/// One op of the static graph, with both of its implementations: the CPU reference and a
/// factory for the device op (whose kernel arguments are bound once, at plan time).
struct GraphOp {
    let name: String
    let kind: OpKind
    let inputs: [Int]
    let output: Int
    /// Weights the device op needs on the device, uploaded once.
    let weights: [Tensor]
    /// Floats of shared scratch the device op needs.
    let scratchCount: Int
    let host: ([Tensor]) -> Tensor
    let device: (DeviceBinding) throws -> DeviceOp
}

/// A value flowing between ops: an activation, named after the op that makes it.
struct GraphValue {
    let name: String
    let shape: [Int]
    var count: Int { shape.reduce(1, *) }
}

/// The static op list of one network for one input shape.
struct NetworkGraph {
    private(set) var values: [GraphValue] = []
    private(set) var ops: [GraphOp] = []
    /// Value ids of the network input, the logits and the probabilities.
    private(set) var input = 0, logits = 0, probabilities = 0

    /// Tile sizes per convolution shape (from the tuner); nil uses the device's defaults.
    let tilings: (ConvGeometry) -> ConvTiling?

    init(model: SEResNet, batch: Int, height: Int, width: Int, tilings: @escaping (ConvGeometry) -> ConvTiling? = { _ in nil }) {
        self.tilings = tilings
        input = addValue("input", [batch, 3, height, width])
        var x = convolution(model.stem, input)
        x = maxPool(model, x)
        for block in model.blocks { x = residualBlock(block, x) }
        let features = averagePool("pool", x)
        logits = linear(model, features)
        probabilities = softmax(logits)
    }

    private mutating func addValue(_ name: String, _ shape: [Int]) -> Int {
        values.append(GraphValue(name: name, shape: shape))
        return values.count - 1
    }

    private mutating func add(
        _ name: String, _ kind: OpKind, _ inputs: [Int], shape: [Int], weights: [Tensor] = [], scratch: Int = 0,
        host: @escaping ([Tensor]) -> Tensor, device: @escaping (DeviceBinding) throws -> DeviceOp
    ) -> Int {
        let output = addValue(name, shape)
        ops.append(
            GraphOp(
                name: name, kind: kind, inputs: inputs, output: output, weights: weights, scratchCount: scratch, host: host,
                device: device))
        return output
    }

    private mutating func convolution(_ layer: ConvLayer, _ x: Int) -> Int {
        let s = values[x].shape
        let g = layer.geometry(batch: s[0], height: s[2], width: s[3])
        let tiling = tilings(g)
        return add(
            layer.name, .conv, [x], shape: g.outputShape, weights: [ConvTiling.transposeWeights(layer.weight), layer.bias],
            scratch: TiledConv2dOp.scratchCount(g),
            host: { Reference.convolution($0[0], layer) },
            device: { b in
                try TiledConv2dOp(
                    runtime: b.runtime, geometry: g, tiling: tiling ?? ConvTiling.defaultFor(device: b.runtime.device),
                    input: b.inputs[0], weightT: b.weights[0], bias: b.weights[1], output: b.output, relu: layer.relu,
                    scratch: b.scratch, perturb: b.perturb)
            })
    }

    private mutating func maxPool(_ model: SEResNet, _ x: Int) -> Int {
        let s = values[x].shape
        let (padding, ceil) = (model.stemPoolPadding, model.stemPoolCeilMode)
        let oh = windowOutputSize(input: s[2], kernel: 3, stride: 2, padding: padding, ceilMode: ceil)
        let ow = windowOutputSize(input: s[3], kernel: 3, stride: 2, padding: padding, ceilMode: ceil)
        return add(
            "stem.pool", .maxpool, [x], shape: [s[0], s[1], oh, ow],
            host: { Reference.maxPool2d($0[0], kernel: 3, stride: 2, padding: padding, ceilMode: ceil) },
            device: { b in
                try MaxPool2dOp(
                    runtime: b.runtime, rows: s[0] * s[1], height: s[2], width: s[3], kernelSize: 3, stride: 2, padding: padding,
                    ceilMode: ceil, input: b.inputs[0], output: b.output, perturb: b.perturb)
            })
    }

    private mutating func averagePool(_ name: String, _ x: Int) -> Int {
        let s = values[x].shape
        return add(
            name, .avgpool, [x], shape: [s[0], s[1]], host: { Reference.globalAveragePool($0[0]) },
            device: { b in
                try GlobalAveragePoolOp(
                    runtime: b.runtime, rows: s[0] * s[1], plane: s[2] * s[3], input: b.inputs[0], output: b.output,
                    perturb: b.perturb)
            })
    }

    private mutating func residualBlock(_ block: ResidualBlock, _ x: Int) -> Int {
        var branch = x
        for layer in block.convs { branch = convolution(layer, branch) }
        let se = block.squeezeExcite
        let shape = values[branch].shape
        let scale = add(
            se.name, .excite, [branch], shape: [shape[0], se.channels],
            weights: [se.reduceWeight, se.reduceBias, se.expandWeight, se.expandBias],
            host: { Reference.squeezeExcite($0[0], se) },
            device: { b in
                try ExciteOp(
                    runtime: b.runtime, batch: shape[0], channels: se.channels, reducedWidth: se.reducedWidth,
                    plane: shape[2] * shape[3], input: b.inputs[0], reduceWeight: b.weights[0], reduceBias: b.weights[1],
                    expandWeight: b.weights[2], expandBias: b.weights[3], scale: b.output, perturb: b.perturb)
            })
        let shortcut = block.downsample.map { convolution($0, x) } ?? x
        let s = shape
        return add(
            block.name, .scaleAddRelu, [branch, scale, shortcut], shape: s,
            host: { Reference.relu(Reference.add(Reference.channelScale($0[0], scale: $0[1]), $0[2])) },
            device: { b in
                try ChannelScaleOp(
                    runtime: b.runtime, rows: s[0] * s[1], plane: s[2] * s[3], input: b.inputs[0], scale: b.inputs[1],
                    shortcut: b.inputs[2], output: b.output, perturb: b.perturb)
            })
    }

    private mutating func linear(_ model: SEResNet, _ x: Int) -> Int {
        let (batch, features) = (values[x].shape[0], values[x].shape[1])
        let classes = model.classifierWeight.shape[0]
        return add(
            "classifier", .linear, [x], shape: [batch, classes], weights: [model.classifierWeight, model.classifierBias],
            host: { Reference.linear($0[0], weight: model.classifierWeight, bias: model.classifierBias) },
            device: { b in
                try LinearOp(
                    runtime: b.runtime, batch: batch, inFeatures: features, outFeatures: classes, input: b.inputs[0],
                    weight: b.weights[0],
                    bias: b.weights[1], output: b.output, perturb: b.perturb)
            })
    }

    private mutating func softmax(_ x: Int) -> Int {
        let s = values[x].shape
        return add(
            "softmax", .softmax, [x], shape: s, host: { Reference.softmax($0[0]) },
            device: { b in
                try SoftmaxOp(
                    runtime: b.runtime, rows: s[0], columns: s[1], input: b.inputs[0], output: b.output, perturb: b.perturb)
            })
    }
}
