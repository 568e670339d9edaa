import SENetCore

/// Where each device value of a plan lives in one activation arena: byte offsets chosen so that
/// values alive at the same step never overlap, and the arena is as small as a greedy packing
/// gets it (largest values first, each at the lowest offset free for its whole lifetime, as
/// TFLite's arena planner does). An elementwise op that may write over its first input, when
/// that input dies there, shares the input's place.
public struct ActivationArena: Sendable {
    /// Value → byte offset in the arena.
    public let offsets: [Int: Int]
    /// Value → the steps from its first write to its last device use, inclusive.
    public let lifetimes: [Int: ClosedRange<Int>]
    /// Value → the value whose place it takes over in place (absent when it has its own).
    public let aliases: [Int: Int]
    /// Op (node index) → byte offset of its scratch, alive only during its step.
    public let scratchOffsets: [Int: Int]
    /// Bytes the arena needs.
    public let byteCount: Int

    /// `scratch`: op (node index) → scratch bytes it needs while it runs.
    init(graph: NetworkGraph, steps: [ExecutionPlan.Step], scratch: [Int: Int] = [:], alignment: Int) {
        var first: [Int: Int] = [:]
        var last: [Int: Int] = [:]
        func use(_ value: Int, _ step: Int) { last[value] = max(last[value] ?? step, step) }
        for (index, step) in steps.enumerated() {
            switch step {
            case .upload(let value):
                first[value] = index
                use(value, index)
            case .device(let op):
                for input in graph.nodes[op].inputs { use(input, index) }
                first[graph.nodes[op].output] = index
                use(graph.nodes[op].output, index)
            case .download(let value), .perturb(let value):
                if first[value] != nil { use(value, index) }
            case .host:
                break
            }
        }
        // In place: the output takes its dying first input's place; both become one item.
        var aliases: [Int: Int] = [:]
        for (index, step) in steps.enumerated() {
            guard case .device(let op) = step, (graph.nodes[op].op as? any DeviceLowerable)?.writesInPlace == true,
                let input = graph.nodes[op].inputs.first, last[input] == index,
                graph.values[input].byteCount >= graph.values[graph.nodes[op].output].byteCount
            else { continue }
            aliases[graph.nodes[op].output] = input
        }
        func root(_ value: Int) -> Int { aliases[value].map(root) ?? value }
        var itemBytes: [Int: Int] = [:]
        var itemLife: [Int: ClosedRange<Int>] = [:]
        for value in first.keys {
            let r = root(value)
            itemBytes[r] = max(itemBytes[r] ?? 0, graph.values[value].byteCount)
            let life = first[value]!...last[value]!
            itemLife[r] = itemLife[r].map { min($0.lowerBound, life.lowerBound)...max($0.upperBound, life.upperBound) } ?? life
        }
        // Scratch items get keys below every value's (−1 − op), alive at their op's step only.
        for (index, step) in steps.enumerated() {
            if case .device(let op) = step, let bytes = scratch[op] {
                (itemBytes[-1 - op], itemLife[-1 - op]) = (bytes, index...index)
            }
        }
        func aligned(_ bytes: Int) -> Int { (bytes + alignment - 1) / alignment * alignment }
        var placed: [(offset: Int, bytes: Int, life: ClosedRange<Int>)] = []
        var itemOffsets: [Int: Int] = [:]
        let order = itemBytes.keys.sorted { a, b in
            (itemBytes[a]!, -itemLife[a]!.lowerBound, -a) > (itemBytes[b]!, -itemLife[b]!.lowerBound, -b)
        }
        for item in order {
            let bytes = aligned(itemBytes[item]!)
            let life = itemLife[item]!
            var offset = 0
            for other in placed.filter({ $0.life.overlaps(life) }).sorted(by: { $0.offset < $1.offset }) {
                if offset + bytes <= other.offset { break }
                offset = max(offset, aligned(other.offset + other.bytes))
            }
            placed.append((offset, bytes, life))
            itemOffsets[item] = offset
        }
        offsets = Dictionary(uniqueKeysWithValues: first.keys.map { ($0, itemOffsets[root($0)]!) })
        scratchOffsets = Dictionary(uniqueKeysWithValues: scratch.keys.compactMap { op in itemOffsets[-1 - op].map { (op, $0) } })
        lifetimes = Dictionary(uniqueKeysWithValues: first.keys.map { ($0, first[$0]!...last[$0]!) })
        self.aliases = aliases
        byteCount = placed.map { $0.offset + $0.bytes }.max() ?? 0
    }
}
