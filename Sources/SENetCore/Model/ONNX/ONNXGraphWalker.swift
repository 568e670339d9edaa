import Foundation
import ONNXProto

/// Walks an ONNX graph's nodes by value: who produces a value, who reads it, and the small
/// patterns every SE-ResNet export is made of (Conv [+ BatchNormalization] [+ Relu], a fully
/// connected layer in any of its three spellings, shape-only ops). Pattern breaks throw
/// `InputError.unsupportedONNXGraph` naming the node where the graph stopped matching.
struct ONNXGraphWalker {
    let file: ONNXFile
    /// Shapes at the probe input, and the shape computations run at load.
    let shapes: ONNXShapeFolding
    private var consumers: [String: [Int]] = [:]
    /// Nodes the walk has mapped onto the network; the rest must be unused or shape-only.
    private(set) var used = Set<Int>()
    /// The squeeze-excite FCs were Gemm/MatMul (`nn.Linear`, the classic class), not 1×1 convs.
    var linearSqueezeExcite = false

    /// Ops that only move [N, C] ↔ [N, C, 1, 1] or pass values through, in these graphs; and
    /// Expand, the SE gate's [N, C, 1, 1] → [N, C, H, W] before its Mul (`y.expand_as(x)`),
    /// which the Mul would broadcast anyway.
    static let passThrough: Set<String> = ["Identity", "Dropout", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Expand"]
    /// Every op type the importer maps; anything else is refused by name.
    static let supported: Set<String> = passThrough.union([
        "Conv", "BatchNormalization", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "Gemm",
        "MatMul", "Add", "Sigmoid", "Mul", "Softmax", "Constant",
    ])

    init(file: ONNXFile) throws {
        self.file = file
        // Every value is written once, by a node before those that read it (ONNX's topological
        // order), so each walk below moves forward through the nodes and ends.
        var written = Set(file.inputs)
        try Self.checkOrder(file, written: &written)
        shapes = try ONNXShapeFolding(file: file)
        // Folded shape computations are not part of the network: nobody walks to them.
        used = shapes.foldedNodes
        for (index, node) in file.nodes.enumerated() where !shapes.foldedNodes.contains(index) {
            guard Self.supported.contains(node.opType), node.domain.isEmpty || node.domain == "ai.onnx" else {
                throw InputError.unsupportedONNXNode(
                    path: file.path, node: Self.label(node, index),
                    opType: "\(node.domain.isEmpty ? "" : node.domain + ".")\(node.opType)")
            }
            for input in node.input where !input.isEmpty { consumers[input, default: []].append(index) }
        }
    }

    /// Every node has a named first output, reads only values written before it and writes
    /// values nothing else writes: checked before anything is evaluated.
    private static func checkOrder(_ file: ONNXFile, written: inout Set<String>) throws {
        for (index, node) in file.nodes.enumerated() {
            // Optional outputs may be "" (Dropout's mask); the first is the value the walk follows.
            guard let first = node.output.first, !first.isEmpty else {
                throw InputError.invalidONNX(path: file.path, reason: "node '\(Self.label(node, index))' has no named output")
            }
            for input in node.input where !input.isEmpty {
                guard written.contains(input) || file.isConstant(input) else {
                    throw InputError.invalidONNX(
                        path: file.path,
                        reason: "node '\(Self.label(node, index))' reads '\(input.escapingLineBreaks)' before any node writes it")
                }
            }
            for output in node.output where !output.isEmpty {
                guard !written.contains(output), node.opType == "Constant" || !file.isConstant(output) else {
                    throw InputError.invalidONNX(
                        path: file.path,
                        reason:
                            "node '\(Self.label(node, index))' writes '\(output.escapingLineBreaks)', which is already defined")
                }
                written.insert(output)
            }
        }
    }

    /// A node's name for messages: its own, or its position and op type when it has none.
    static func label(_ node: Onnx_NodeProto, _ index: Int) -> String {
        node.name.isEmpty ? "#\(index) (\(node.opType))" : node.name.escapingLineBreaks
    }

    func label(_ index: Int) -> String { Self.label(file.nodes[index], index) }
    func node(_ index: Int) -> Onnx_NodeProto { file.nodes[index] }

    /// The error for a graph that stops matching at `index`.
    func mismatch(_ index: Int?, _ reason: String) -> InputError {
        let at = index.map { "node '\(label($0))' (\(node($0).opType))" } ?? "the graph"
        return .unsupportedONNXGraph(path: file.path, node: at, reason: reason)
    }

    /// The nodes reading `value`.
    func readers(_ value: String) -> [Int] { consumers[value] ?? [] }

    /// The one node reading `value`, when exactly one does and it has op type `op` (one of `ops`).
    func soleReader(_ value: String, _ ops: Set<String>) -> Int? {
        let list = readers(value)
        return list.count == 1 && ops.contains(node(list[0]).opType) ? list[0] : nil
    }

    /// `value` after any chain of shape-only ops that are its only reader; each must move
    /// [N, C] ↔ [N, C, 1, 1] only (`ONNXShapeFolding.passThroughProblem`).
    mutating func skipShapeOps(_ value: String) throws -> String {
        var value = value
        while let index = soleReader(value, Self.passThrough), node(index).input.first == value {
            if let problem = shapes.passThroughProblem(index) { throw mismatch(index, problem) }
            used.insert(index)
            value = node(index).output[0]
        }
        return value
    }

    mutating func use(_ index: Int) { used.insert(index) }

    /// True when a block reading `value` downsamples: an AveragePool or a strided Conv reads it.
    func strides(_ value: String) -> Bool {
        readers(value).contains { index in
            node(index).opType == "AveragePool" || (node(index).opType == "Conv" && (ints(index, "strides")?.max() ?? 1) > 1)
        }
    }

    /// True when the Conv at `index` (after a sole BatchNormalization and Relu) feeds an Add:
    /// a shortcut conv rather than a branch conv.
    func feedsAdd(convOutput index: Int) -> Bool {
        var value = node(index).output.first ?? ""
        for op in ["BatchNormalization", "Relu"] {
            if let next = soleReader(value, [op]) { value = node(next).output.first ?? "" }
        }
        return readers(value).contains { node($0).opType == "Add" }
    }

    // MARK: - Attributes

    func attribute(_ index: Int, _ name: String) -> Onnx_AttributeProto? {
        node(index).attribute.first { $0.name == name }
    }

    func int(_ index: Int, _ name: String, default value: Int) -> Int {
        attribute(index, name).map { Int($0.i) } ?? value
    }

    func float(_ index: Int, _ name: String, default value: Float) -> Float {
        attribute(index, name).map(\.f) ?? value
    }

    func ints(_ index: Int, _ name: String) -> [Int]? { attribute(index, name).map { $0.ints.map { Int($0) } } }

    /// Square kernel, one stride, the same padding on every side, no dilation, explicit pads:
    /// the only windows the engine's kernels take.
    func window(_ index: Int) throws -> (kernel: Int, stride: Int, padding: Int) {
        let kernel = ints(index, "kernel_shape") ?? []
        let strides = ints(index, "strides") ?? [1, 1]
        let pads = ints(index, "pads") ?? [0, 0, 0, 0]
        let dilations = ints(index, "dilations") ?? [1, 1]
        let autoPad = attribute(index, "auto_pad").map { String(decoding: $0.s, as: UTF8.self) } ?? "NOTSET"
        guard kernel.count == 2, kernel[0] == kernel[1], kernel[0] >= 1, kernel[0] <= 15 else {
            throw mismatch(index, "kernel_shape \(kernel) is not a square 2-D window up to 15")
        }
        guard strides.count == 2, strides[0] == strides[1], strides[0] >= 1, strides[0] <= 8 else {
            throw mismatch(index, "strides \(strides) are not one stride of 1 to 8")
        }
        guard pads.count == 4, Set(pads).count == 1, pads[0] >= 0, pads[0] < kernel[0] else {
            throw mismatch(index, "pads \(pads) are not the same padding on every side, below the kernel size")
        }
        guard dilations.allSatisfy({ $0 == 1 }), autoPad == "NOTSET" else {
            throw mismatch(index, "dilation \(dilations) or auto_pad \(autoPad.escapingLineBreaks) is not supported")
        }
        return (kernel[0], strides[0], pads[0])
    }
}
