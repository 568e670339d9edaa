import SENetCore

extension ExecutionPlan {
    /// The step list: each node where it was placed, with an upload or download in front of
    /// any input that lives on the other side, a perturbation after the layer `perturb` names,
    /// and downloads of the outputs at the end.
    static func schedule(_ graph: NetworkGraph, onDevice: [Bool], perturb: String?) -> [Step] {
        var onHost: Set<Int> = [graph.input]
        var onDev: Set<Int> = []
        var steps: [Step] = []
        for (index, node) in graph.nodes.enumerated() {
            for input in node.inputs {
                if onDevice[index] && !onDev.contains(input) {
                    steps.append(.upload(value: input))
                    onDev.insert(input)
                } else if !onDevice[index] && !onHost.contains(input) {
                    steps.append(.download(value: input))
                    onHost.insert(input)
                }
            }
            steps.append(onDevice[index] ? .device(op: index) : .host(op: index))
            if node.name == perturb { steps.append(.perturb(value: node.output)) }
            if onDevice[index] { onDev.insert(node.output) } else { onHost.insert(node.output) }
        }
        for value in [graph.logits, graph.probabilities] where !onHost.contains(value) {
            steps.append(.download(value: value))
        }
        return steps
    }
}
