/// `compare`'s engine: the same input through a device plan and through the CPU reference,
/// every layer output side by side.
public struct LayerComparison: Sendable {
    /// One layer's outputs compared.
    public struct Row: Sendable {
        public let name: String
        public let kind: OpKind
        public let onDevice: Bool
        public let comparison: Comparison
    }

    public let deviceName: String
    public let tolerance: Float
    /// Layers in execution order (those the reference also reports).
    public let rows: [Row]
    /// The logits compared.
    public let logits: Comparison

    /// The first layer whose relative error exceeds the tolerance: where to look for a bug.
    public var firstDiverging: Row? { rows.first { !$0.comparison.passes(tolerance: tolerance) } }

    /// True when the logits agree within the tolerance.
    public var passed: Bool { logits.passes(tolerance: tolerance) }

    /// Runs `plan` and the reference on `input`. The reference runs layer after layer on its own
    /// outputs, so an error shows first at the layer that made it.
    public init(plan: ExecutionPlan, model: SEResNet, input: Tensor, tolerance: Float) throws {
        var reference: [String: Tensor] = [:]
        let expected = Reference.forward(model, input: input) { reference[$0] = $1 }
        var device: [(String, Tensor)] = []
        let output = try plan.run(input) { device.append(($0, $1)) }
        let placements = Dictionary(plan.placements.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        rows = device.compactMap { name, tensor in
            guard let want = reference[name], let placement = placements[name] else { return nil }
            return Row(
                name: name, kind: placement.kind, onDevice: placement.onDevice,
                comparison: Comparison(actual: tensor, expected: want))
        }
        logits = Comparison(actual: output.logits, expected: expected)
        deviceName = plan.deviceName ?? "cpu"
        self.tolerance = tolerance
    }
}
