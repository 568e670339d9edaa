import SENetCore

/// Where the time of one profiled run goes, summed by layer kind: each kind's milliseconds,
/// multiply-accumulates and rate, and that rate as a share of the device's FMA peak, so that
/// the kinds furthest below the peak are the ones to work on.
public struct LayerKindProfile: Sendable {
    public struct Row: Encodable, Sendable, Equatable {
        /// `3×3 conv`, `3×3 conv stride 2`, `3×3 conv 32 groups`, or the op kind (`maxpool`, `linear`, …).
        public let kind: String
        public let layers: Int
        public let ms: Double
        /// Multiply-accumulates of these layers over the whole batch, in billions.
        public let gmacs: Double
        /// 2 × MACs per second; nil for kinds without multiply-accumulates.
        public let gflops: Double?
        /// `gflops` over the device's measured FMA peak, when both are known.
        public let fractionOfPeak: Double?
    }

    /// Costliest kind first.
    public let rows: [Row]

    /// Groups `opSeconds` (per layer, from a profiled run of `graph`) by kind.
    public init(graph: NetworkGraph, opSeconds: [(name: String, seconds: Double)], peakGflops: Double?) {
        let nodes = Dictionary(graph.nodes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var totals: [String: (layers: Int, seconds: Double, macs: Int)] = [:]
        for (name, seconds) in opSeconds {
            guard let node = nodes[name] else { continue }
            let kind = Self.kind(of: node)
            let total = totals[kind] ?? (0, 0, 0)
            totals[kind] = (total.layers + 1, total.seconds + seconds, total.macs + node.op.macs)
        }
        rows = totals.map { kind, total in
            let gflops = total.macs > 0 && total.seconds > 0 ? 2 * Double(total.macs) / total.seconds / 1e9 : nil
            return Row(
                kind: kind, layers: total.layers, ms: total.seconds * 1e3, gmacs: Double(total.macs) / 1e9, gflops: gflops,
                fractionOfPeak: gflops.flatMap { rate in peakGflops.map { rate / $0 } })
        }.sorted { ($0.ms, $1.kind) > ($1.ms, $0.kind) }
    }

    /// A convolution's kernel size, stride and groups (what picks its algorithm and bounds
    /// its rate); every other op's kind.
    static func kind(of node: GraphNode) -> String {
        guard let conv = node.op as? Conv2d else { return node.kind.rawValue }
        let g = conv.geometry
        var kind = "\(g.kernelHeight)×\(g.kernelWidth) conv"
        if g.stride > 1 { kind += " stride \(g.stride)" }
        if g.groups > 1 { kind += g.groups == g.inChannels ? " depthwise" : " \(g.groups) groups" }
        return kind
    }
}
