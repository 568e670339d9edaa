/// A change of storage between two precisions of one feature map, inserted by a mixed-precision
/// plan where an fp32-kept layer meets fp16 ones. The reference computes in fp32 throughout, so
/// it is the identity there; on the device it rounds (fp32 → fp16) or widens (exactly).
public struct Cast: GraphOp {
    public static let kind = OpKind(rawValue: "cast")
    public let name: String
    /// The storage written.
    public let to: ElementType
    public let shape: [Int]

    public init(name: String, to: ElementType, shape: [Int]) { (self.name, self.to, self.shape) = (name, to, shape) }

    public func reference(_ inputs: [Tensor]) -> Tensor { inputs[0] }
}

extension NetworkGraph {
    /// The same graph with feature maps stored as half, except around the nodes named in
    /// `keptFP32`: those read and write fp32 feature maps, and a `Cast` node is inserted before
    /// the first reader of each value that is stored in the other precision (one per value and
    /// precision, named `<value>.to_fp32` or `<value>.to_fp16`). Per-channel values stay fp32.
    public func storingFeatureMapsAsHalf(keepingFP32 keptFP32: Set<String>) -> NetworkGraph {
        var graph = storingFeatureMaps(as: .float16)
        guard !keptFP32.isEmpty else { return graph }
        var nodes: [GraphNode] = []
        var casts: [Int: [ElementType: Int]] = [:]
        for node in graph.nodes {
            let storage: ElementType = keptFP32.contains(node.name) ? .float32 : .float16
            var inputs = node.inputs
            for (slot, value) in node.inputs.enumerated()
            where graph.values[value].shape.count == 4 && graph.values[value].elementType != storage {
                if let cast = casts[value]?[storage] {
                    inputs[slot] = cast
                    continue
                }
                let info = graph.values[value]
                let name = "\(info.name).to_\(storage == .float32 ? "fp32" : "fp16")"
                let cast = graph.appendValue(ValueInfo(name: name, shape: info.shape, elementType: storage))
                nodes.append(GraphNode(op: Cast(name: name, to: storage, shape: info.shape), inputs: [value], output: cast))
                casts[value, default: [:]][storage] = cast
                inputs[slot] = cast
            }
            if graph.values[node.output].shape.count == 4 { graph.store(node.output, as: storage) }
            nodes.append(GraphNode(op: node.op, inputs: inputs, output: node.output))
        }
        graph.replaceNodes(nodes)
        return graph
    }
}
