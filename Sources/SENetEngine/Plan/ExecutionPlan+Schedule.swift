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

    /// Device buffers with reuse: a value holds a buffer from the step that writes it to its
    /// last device use; freed buffers go to later values (best fit by size).
    /// Returns value → buffer index, and each buffer's size in bytes.
    static func assignBuffers(_ graph: NetworkGraph, steps: [Step]) -> ([Int: Int], [Int]) {
        var lastUse: [Int: Int] = [:]
        var firstWrite: [Int: Int] = [:]
        for (index, step) in steps.enumerated() {
            switch step {
            case .upload(let value):
                firstWrite[value] = index
                lastUse[value] = index
            case .device(let op):
                for input in graph.nodes[op].inputs { lastUse[input] = index }
                firstWrite[graph.nodes[op].output] = index
                lastUse[graph.nodes[op].output] = max(lastUse[graph.nodes[op].output] ?? index, index)
            case .download(let value), .perturb(let value):
                if firstWrite[value] != nil { lastUse[value] = max(lastUse[value] ?? index, index) }
            case .host:
                break
            }
        }
        var sizes: [Int] = []
        var free: [Int] = []
        var assignment: [Int: Int] = [:]
        var owner: [Int: Int] = [:]  // Buffer → the value living in it now.
        let writes = Dictionary(grouping: firstWrite.keys, by: { firstWrite[$0]! })
        let releases = Dictionary(grouping: lastUse.keys, by: { lastUse[$0]! })
        for index in steps.indices {
            for value in (writes[index] ?? []).sorted() {
                let need = graph.values[value].byteCount
                // Elementwise ops may write over their first input when it dies here.
                if case .device(let op) = steps[index], (graph.nodes[op].op as? any DeviceLowerable)?.writesInPlace == true,
                    let first = graph.nodes[op].inputs.first, lastUse[first] == index, let buffer = assignment[first],
                    sizes[buffer] >= need
                {
                    (assignment[value], owner[buffer]) = (buffer, value)
                    continue
                }
                if let best = free.filter({ sizes[$0] >= need }).min(by: { sizes[$0] < sizes[$1] }) {
                    free.removeAll { $0 == best }
                    (assignment[value], owner[best]) = (best, value)
                } else {
                    sizes.append(need)
                    (assignment[value], owner[sizes.count - 1]) = (sizes.count - 1, value)
                }
            }
            // A value that handed its buffer on in place no longer owns it, so does not free it.
            for value in releases[index] ?? [] {
                if let buffer = assignment[value], owner[buffer] == value { free.append(buffer) }
            }
        }
        return (assignment, sizes)
    }
}
