/// The kind of an op: how plans, `compare` and op selection by kind name it.
public struct OpKind: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// One op of the network graph as the CPU reference sees it: its name, weights, cost and the
/// plain-loop computation. The engine adds a device implementation to each kind by extension;
/// a kind without one runs on the CPU.
public protocol GraphOp: Sendable {
    /// The kind shared by every op of this type.
    static var kind: OpKind { get }
    /// Layer name, unique in the graph (`layer2.0.conv1`).
    var name: String { get }
    /// Weights in the reference's layout, in the order the op reads them.
    var parameters: [Tensor] { get }
    /// Multiply-accumulates over the whole batch.
    var macs: Int { get }
    /// The reference computation: input tensors in the node's input order → output.
    func reference(_ inputs: [Tensor]) -> Tensor
}

extension GraphOp {
    /// The op's kind.
    public var kind: OpKind { Self.kind }
    public var parameters: [Tensor] { [] }
    public var macs: Int { 0 }
}

/// An op in place: which values it reads and which it writes.
public struct GraphNode: Sendable {
    public let op: any GraphOp
    /// Value ids, in the order `op.reference` takes them.
    public let inputs: [Int]
    public let output: Int

    public var name: String { op.name }
    public var kind: OpKind { op.kind }
}
