extension NetworkGraph {
    /// The graph an int8 plan runs. Each convolution or classifier that `calibration` makes int8
    /// (and `keepsFP32` does not keep) becomes an `Int8Convolution` that reads a `Quantize` of
    /// its input, named `<value>.q`: one per value and scale, shared by the ops that read the
    /// same value at the same scale. Everything else, and every fp32 feature map, is unchanged.
    /// `calibration` must have been validated against this graph.
    public func quantizedForInt8(_ calibration: Int8Calibration, keepsFP32: (GraphNode) -> Bool) -> NetworkGraph {
        var graph = self
        let entries = Dictionary(calibration.ops.map { ($0.name, $0) }) { first, _ in first }
        var nodes: [GraphNode] = []
        var quantized: [Int: [Float: Int]] = [:]
        for node in self.nodes {
            guard let entry = entries[node.name], entry.precision == .int8, let weightScales = entry.weightScales,
                let inputScale = entry.inputScale, !keepsFP32(node),
                let int8 = Self.int8Form(of: node.op, values: values, input: node.inputs[0], weightScales, inputScale)
            else {
                nodes.append(node)
                continue
            }
            let source = node.inputs[0]
            let codes: Int
            if let existing = quantized[source]?[inputScale] {
                codes = existing
            } else {
                let count = quantized[source]?.count ?? 0
                let name = "\(values[source].name).q\(count == 0 ? "" : "\(count + 1)")"
                let shape = int8.geometry.inputShape
                codes = graph.appendValue(ValueInfo(name: name, shape: shape, elementType: .int8, layout: .nc4hw4))
                nodes.append(
                    GraphNode(op: Quantize(name: name, scale: inputScale, shape: shape), inputs: [source], output: codes))
                quantized[source, default: [:]][inputScale] = codes
            }
            nodes.append(GraphNode(op: int8, inputs: [codes], output: node.output))
        }
        graph.replaceNodes(nodes)
        return graph
    }

    /// `op` as an int8 convolution, or nil when it has no int8 form (a sigmoid classifier).
    private static func int8Form(
        of op: any GraphOp, values: [ValueInfo], input: Int, _ weightScales: [Float], _ inputScale: Float
    ) -> Int8Convolution? {
        if let conv = op as? Conv2d {
            let layer = conv.layer
            return Int8Convolution(
                name: layer.name, geometry: conv.geometry, weight: layer.weight, bias: layer.bias, relu: layer.relu,
                weightScales: weightScales, inputScale: inputScale, outputShape: conv.geometry.outputShape)
        }
        guard let linear = op as? Linear, linear.activation != .sigmoid else { return nil }
        let batch = values[input].shape[0]
        let geometry = ConvGeometry(
            batch: batch, inChannels: linear.inFeatures, height: 1, width: 1, outChannels: linear.outFeatures, kernel: 1)
        return Int8Convolution(
            name: linear.name, geometry: geometry,
            weight: Tensor(shape: geometry.weightShape, data: linear.weight.data), bias: linear.bias,
            relu: linear.activation == .relu, weightScales: weightScales, inputScale: inputScale,
            outputShape: [batch, linear.outFeatures])
    }
}
