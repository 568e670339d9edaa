extension NetworkGraph {
    /// Outputs of a reference run.
    public struct ReferenceOutput: Sendable {
        /// [N, classes]
        public let logits: Tensor
        /// softmax(logits), [N, classes]
        public let probabilities: Tensor
    }

    /// Runs every node on the CPU reference, in order.
    /// - input: [N, 3, H, W], the graph's input shape
    /// - observe: sees each node's output as it is made (`compare` uses it)
    public func runReference(_ input: Tensor, observe: ((GraphNode, Tensor) -> Void)? = nil) -> ReferenceOutput {
        precondition(input.shape == values[self.input].shape, "input \(input.shape) for a graph of \(values[self.input].shape)")
        // Free each activation after its last reader, so deep nets do not hold every layer.
        var lastUse: [Int: Int] = [:]
        for (index, node) in nodes.enumerated() { for value in node.inputs { lastUse[value] = index } }
        let kept: Set<Int> = [logits, probabilities]
        var live: [Int: Tensor] = [self.input: input]
        for (index, node) in nodes.enumerated() {
            let output = node.op.reference(node.inputs.map { live[$0]! })
            observe?(node, output)
            live[node.output] = output
            for value in node.inputs where lastUse[value] == index && !kept.contains(value) { live[value] = nil }
        }
        return ReferenceOutput(logits: live[logits]!, probabilities: live[probabilities]!)
    }
}

extension Reference {
    /// The whole SE-ResNet on the CPU: its graph, run op by op.
    /// - input: [N, 3, H, W], normalised
    /// - returns: logits [N, classes]
    public static func forward(_ model: SEResNet, input: Tensor) throws -> Tensor {
        try NetworkGraph(model: model, inputShape: input.shape).runReference(input).logits
    }
}
