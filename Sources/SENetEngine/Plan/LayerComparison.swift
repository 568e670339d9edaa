import SENetCore

/// `compare`'s engine: the same input through a device plan and through the CPU reference
/// running the plan's own graph, every node's output side by side.
public struct LayerComparison: Sendable {
    /// One node's outputs compared.
    public struct Row: Sendable {
        public let name: String
        public let kind: OpKind
        public let onDevice: Bool
        /// The value as the plan stores it (the comparison reads it back as fp32).
        public let output: ValueInfo
        public let comparison: Comparison
    }

    public let deviceName: String
    /// How the plan stored its values; the reference is always fp32.
    public let precision: Precision
    public let tolerance: Float
    /// Images of the batch whose top-1 class on the device is the reference's.
    public let top1Agreement: Int
    public let images: Int
    /// Every node in execution order, the softmax included.
    public let rows: [Row]
    /// The logits and the probabilities compared.
    public let logits: Comparison, probabilities: Comparison

    /// The first layer whose relative error exceeds the tolerance: where to look for a bug.
    public var firstDiverging: Row? { rows.first { !$0.comparison.passes(tolerance: tolerance) } }

    /// True when the logits and the probabilities agree within the tolerance.
    public var passed: Bool { logits.passes(tolerance: tolerance) && probabilities.passes(tolerance: tolerance) }

    /// Runs `plan` and the reference on `input`. The reference runs layer after layer on its own
    /// outputs, so an error shows first at the layer that made it.
    public init(plan: ExecutionPlan, input: Tensor, tolerance: Float) throws {
        var reference: [String: Tensor] = [:]
        let expected = plan.graph.runReference(input) { reference[$0.name] = $1 }
        var device: [(GraphNode, Tensor)] = []
        let output = try plan.run(input) { device.append(($0, $1)) }
        let placements = Dictionary(plan.placements.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        rows = device.compactMap { node, tensor in
            guard let want = reference[node.name], let placement = placements[node.name] else { return nil }
            return Row(
                name: node.name, kind: node.kind, onDevice: placement.onDevice, output: placement.output,
                comparison: Comparison(actual: tensor, expected: want))
        }
        logits = Comparison(actual: output.logits, expected: expected.logits)
        images = output.logits.shape[0]
        top1Agreement = (0..<images).filter { output.logits.argmax(row: $0) == expected.logits.argmax(row: $0) }.count
        precision = plan.precision
        probabilities = Comparison(actual: output.probabilities, expected: expected.probabilities)
        deviceName = plan.deviceName ?? "cpu"
        self.tolerance = tolerance
    }
}
