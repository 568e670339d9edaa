/// The one description of a network for one input shape: values (shape, element type,
/// layout) and the ops between them, in execution order. The CPU reference runs it op by op;
/// the engine's plan places the same nodes on a device; `compare`'s rows, MAC counts, `plan`'s
/// table and the tuner's shapes are all read from it.
public struct NetworkGraph: Sendable {
    public private(set) var values: [ValueInfo] = []
    public private(set) var nodes: [GraphNode] = []
    /// Value ids of the network input, the logits and the probabilities.
    public private(set) var input = 0, logits = 0, probabilities = 0
    /// Canonical layer name → the name nodes get (an ONNX file's node names).
    private var layerNames: [String: String] = [:]
    /// `SEResNet.fixedPoolWindows`: pools that are global only on maps of one size.
    private var fixedPoolWindows: [String: [Int]] = [:]

    /// The graph of `model` on inputs of `inputShape` [N, 3, H, W].
    public init(model: SEResNet, inputShape: [Int]) throws {
        guard inputShape.count == 4, inputShape[1] == 3, inputShape[0] >= 1, inputShape[2] >= 32, inputShape[3] >= 32 else {
            throw InputError.invalidInputShape(shape: inputShape)
        }
        (layerNames, fixedPoolWindows) = (model.layerNames, model.fixedPoolWindows)
        input = addValue("input", inputShape)
        var x = input
        for layer in model.stem { x = convolution(layer, x) }
        let pool = model.stemPool
        let s = values[x].shape
        x = add(
            MaxPool2d(
                name: named("stem.pool"), kernel: pool.kernel, stride: pool.stride, padding: pool.padding,
                ceilMode: pool.ceilMode,
                inputShape: s), [x],
            shape: [s[0], s[1], pool.outputSize(s[2]), pool.outputSize(s[3])])
        for block in model.blocks { x = try residualBlock(block, x) }
        let features = try globalAveragePool("pool", x)
        logits = linear(named("classifier"), model.classifierWeight, model.classifierBias, .none, features)
        probabilities = add(Softmax(name: named("softmax"), shape: values[logits].shape), [logits], shape: values[logits].shape)
    }

    /// Multiply-accumulates of one forward pass over the whole batch.
    public var macs: Int { nodes.reduce(0) { $0 + $1.op.macs } }

    /// The convolutions' geometries in execution order (the tuner's shapes).
    public var convolutions: [(name: String, geometry: ConvGeometry)] {
        nodes.compactMap { node in (node.op as? Conv2d).map { (name: $0.name, geometry: $0.geometry) } }
    }

    /// The same graph with its feature maps (every [N, C, H, W] value, the input included)
    /// stored as `element`; per-channel values (pooled features, SE scales, logits) stay fp32.
    public func storingFeatureMaps(as element: ElementType) -> NetworkGraph {
        var graph = self
        for index in graph.values.indices where graph.values[index].shape.count == 4 {
            graph.values[index].elementType = element
        }
        return graph
    }

    /// The node named `name`, if any.
    public func node(named name: String) -> GraphNode? { nodes.first { $0.name == name } }

    private func named(_ canonical: String) -> String { layerNames[canonical] ?? canonical }

    /// Appends `value` (a plan's inserted casts); returns its id.
    mutating func appendValue(_ value: ValueInfo) -> Int {
        values.append(value)
        return values.count - 1
    }

    /// Stores value `value` as `element`.
    mutating func store(_ value: Int, as element: ElementType) { values[value].elementType = element }

    /// Replaces the nodes with `nodes`, the same ones in order with inserted ones between.
    mutating func replaceNodes(_ nodes: [GraphNode]) { self.nodes = nodes }

    private mutating func addValue(_ name: String, _ shape: [Int]) -> Int {
        values.append(ValueInfo(name: name, shape: shape))
        return values.count - 1
    }

    private mutating func add(_ op: any GraphOp, _ inputs: [Int], shape: [Int]) -> Int {
        let output = addValue(op.name, shape)
        nodes.append(GraphNode(op: op, inputs: inputs, output: output))
        return output
    }

    private mutating func convolution(_ layer: ConvLayer, _ x: Int) -> Int {
        let s = values[x].shape
        let g = layer.geometry(batch: s[0], height: s[2], width: s[3])
        let shown = layerNames[layer.name].map { layer.renamed($0) } ?? layer
        return add(Conv2d(layer: shown, geometry: g), [x], shape: g.outputShape)
    }

    /// The global pool `canonical` of `x`; an error when the file's pool was a fixed window
    /// that this input size does not fit.
    private mutating func globalAveragePool(_ canonical: String, _ x: Int) throws -> Int {
        let s = values[x].shape
        if let window = fixedPoolWindows[canonical], window != [s[2], s[3]] {
            throw InputError.fixedPoolDoesNotFit(node: named(canonical), window: window, map: [s[2], s[3]])
        }
        return add(GlobalAveragePool(name: named(canonical), inputShape: s), [x], shape: [s[0], s[1]])
    }

    private mutating func linear(_ name: String, _ weight: Tensor, _ bias: Tensor, _ activation: Activation, _ x: Int) -> Int {
        let batch = values[x].shape[0]
        let op = Linear(name: name, weight: weight, bias: bias, activation: activation, batch: batch)
        return add(op, [x], shape: [batch, op.outFeatures])
    }

    /// relu(branch · se(branch) + shortcut); the SE is pool → FC + ReLU → FC + sigmoid.
    private mutating func residualBlock(_ block: ResidualBlock, _ x: Int) throws -> Int {
        var branch = x
        for layer in block.convs { branch = convolution(layer, branch) }
        let se = block.squeezeExcite
        let pooled = try globalAveragePool("\(se.name).pool", branch)
        let hidden = linear(named("\(se.name).fc1"), se.reduceWeight, se.reduceBias, .relu, pooled)
        let scale = linear(named(se.name), se.expandWeight, se.expandBias, .sigmoid, hidden)
        var shortcut = x
        if let pool = block.shortcutPool {
            let s = values[x].shape
            shortcut = add(
                AvgPool2d(name: named("\(block.name).downsample.pool"), window: pool, inputShape: s), [x],
                shape: [s[0], s[1], pool.outputSize(s[2]), pool.outputSize(s[3])])
        }
        if let downsample = block.downsample { shortcut = convolution(downsample, shortcut) }
        let shape = values[branch].shape
        return add(ScaleAddReLU(name: named(block.name), shape: shape), [branch, scale, shortcut], shape: shape)
    }
}
