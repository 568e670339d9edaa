import ONNXProto

/// A small integer tensor an ONNX graph computes from shapes (`x.view(x.shape[0], -1)`
/// exports as Shape → Gather → Unsqueeze → Concat → Reshape).
struct FoldedTensor: Equatable {
    var shape: [Int]
    var values: [Int]

    init(shape: [Int], values: [Int]) { (self.shape, self.values) = (shape, values) }
    init(vector: [Int]) { (shape, values) = ([vector.count], vector) }
}

/// Every value's shape at one probe input, and the graph's shape computations evaluated on
/// them at load, as ONNX Runtime and OpenVINO fold them. The probe is the input's declared
/// shape, with batch 1 and 224×224 where the file names a symbol instead of a number.
///
/// Folded nodes (Shape, Gather, Unsqueeze, Squeeze, Concat, Slice, Cast, ConstantOfShape,
/// Reshape and integer arithmetic whose inputs are all known at load) leave the network: the
/// walker never sees them. The Reshapes they feed stay, and `passThroughProblem` checks that
/// each only moves [N, C] ↔ [N, C, 1, 1] on the probe, the one use the network has for them,
/// so that they mean the same at every input size.
struct ONNXShapeFolding {
    /// The input shape the shapes were computed for.
    let probe: [Int]
    /// Shapes of data values (those the rules below know) and of folded values.
    private(set) var shapes: [String: [Int]] = [:]
    /// Values computed at load, by name.
    private(set) var folded: [String: FoldedTensor] = [:]
    /// Nodes whose outputs were all computed at load.
    private(set) var foldedNodes = Set<Int>()
    let file: ONNXFile

    /// Ops evaluated at load when every input is known (Shape: when its input's shape is).
    static let foldable: Set<String> = [
        "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Cast", "ConstantOfShape", "Reshape", "Identity",
        "Add", "Sub", "Mul", "Div",
    ]
    /// Largest folded tensor: shape computations are a handful of numbers.
    static let maxElements = 4096

    init(file: ONNXFile) throws {
        self.file = file
        let dims = file.inputDims
        probe =
            dims.count == 4
            ? [dims[0] ?? 1, dims[1] ?? 3, dims[2] ?? 224, dims[3] ?? 224] : [1, 3, 224, 224]
        if let input = file.inputs.first { shapes[input] = probe }
        for (index, node) in file.nodes.enumerated() {
            if Self.foldable.contains(node.opType), let values = try fold(node, index) {
                foldedNodes.insert(index)
                for (name, value) in zip(node.output, values) where !name.isEmpty {
                    folded[name] = value
                    shapes[name] = value.shape
                }
            } else if let first = node.output.first, let shape = outputShape(node, index) {
                shapes[first] = shape
            }
        }
    }

    /// The shape of `name`: computed, or a constant's.
    func shape(_ name: String) -> [Int]? {
        if let shape = shapes[name] { return shape }
        return file.isConstant(name) ? try? file.shape(name) : nil
    }

    /// `name` as a known integer tensor: folded, or an integer constant.
    func integers(_ name: String) -> FoldedTensor? {
        if let value = folded[name] { return value }
        guard file.isConstant(name), let values = try? file.integers(name), let shape = try? file.shape(name),
            shape.reduce(1, *) == values.count, values.count <= Self.maxElements
        else { return nil }
        return FoldedTensor(shape: shape, values: values)
    }

    /// Why the data-path shape op at `index` is not a pass-through of [N, C] ↔ [N, C, 1, 1] (or
    /// an Expand of an [N, C, 1, 1] gate over H × W) on the probe; nil when it is, or when its
    /// shapes are unknown.
    func passThroughProblem(_ index: Int) -> String? {
        let node = file.nodes[index]
        guard let input = node.input.first, let output = node.output.first else { return nil }
        if node.opType == "Expand" {
            // Unlike the reshapes, an Expand changes the element count: its shapes must be known.
            guard let from = shape(input), let to = shape(output) else { return "its shapes are not known at load" }
            let gate =
                from.count == 4 && to.count == 4 && Array(from.prefix(2)) == Array(to.prefix(2)) && from[2] == 1 && from[3] == 1
            return gate ? nil : "it expands a \(from) value to \(to); only a [N, C, 1, 1] gate's spatial broadcast is run"
        }
        guard let from = shape(input) else { return nil }
        guard let to = shape(output) else {
            // A target known at load that does not fit the value (its element count differs).
            guard node.opType == "Reshape", node.input.count > 1, let target = integers(node.input[1]) else { return nil }
            return "its target \(target.values) does not fit a \(from) value on a \(probe) input"
        }
        let kept = { (s: [Int]) in s.dropFirst().filter { $0 != 1 } }
        if from.first == to.first && kept(from) == kept(to) { return nil }
        return "it turns a \(from) value into \(to) on a \(probe) input; only [N, C] ↔ [N, C, 1, 1] reshapes are run"
    }

    private func failure(_ index: Int, _ reason: String) -> InputError {
        .invalidONNX(path: file.path, reason: "node '\(ONNXGraphWalker.label(file.nodes[index], index))': \(reason)")
    }

    // MARK: - Folding

    /// The node's outputs when it can run at load; nil when an input is not known then.
    private func fold(_ node: Onnx_NodeProto, _ index: Int) throws -> [FoldedTensor]? {
        let inputs = node.input
        if node.opType == "Shape" {
            guard let name = inputs.first, let shape = shape(name) else { return nil }
            let rank = shape.count
            let clamp = { (v: Int) in min(max(v < 0 ? v + rank : v, 0), rank) }
            let start = clamp(int(node, "start") ?? 0)
            let end = clamp(int(node, "end") ?? rank)
            return [FoldedTensor(vector: start < end ? Array(shape[start..<end]) : [])]
        }
        var values: [FoldedTensor] = []
        for name in inputs where !name.isEmpty {
            guard let value = integers(name) else { return nil }
            values.append(value)
        }
        guard let x = values.first else { return nil }
        let result: FoldedTensor
        switch node.opType {
        case "Identity", "Cast": result = x
        case "Gather": result = try gather(x, values.count > 1 ? values[1] : nil, axis: int(node, "axis") ?? 0, index)
        case "Unsqueeze", "Squeeze":
            let axes = ints(node, "axes") ?? (values.count > 1 ? values[1].values : nil)
            result = try squeeze(x, axes: axes, unsqueeze: node.opType == "Unsqueeze", index)
        case "Concat":
            guard values.allSatisfy({ $0.shape.count == 1 }) else { return nil }
            result = FoldedTensor(vector: values.flatMap(\.values))
        case "Slice": result = try slice(x, values: values, node: node, index)
        case "ConstantOfShape":
            guard let filled = try constantOfShape(x, node: node, index) else { return nil }
            result = filled
        case "Reshape":
            guard values.count == 2, let shape = reshaped(x.shape, target: values[1].values, node: node),
                shape.reduce(1, *) == x.values.count
            else { throw failure(index, "cannot reshape \(x.shape) to \(values.count == 2 ? values[1].values : [])") }
            result = FoldedTensor(shape: shape, values: x.values)
        default: result = try arithmetic(node.opType, values, index)
        }
        guard result.values.count <= Self.maxElements else { return nil }
        return [result]
    }

    private func gather(_ x: FoldedTensor, _ indices: FoldedTensor?, axis: Int, _ index: Int) throws -> FoldedTensor {
        guard let indices, x.shape.count == 1, axis == 0 || axis == -1 else {
            throw failure(index, "only gathers from a vector of dimensions are folded")
        }
        let picked = try indices.values.map { i -> Int in
            let j = i < 0 ? i + x.values.count : i
            guard x.values.indices.contains(j) else { throw failure(index, "index \(i) is outside \(x.values.count) values") }
            return x.values[j]
        }
        return FoldedTensor(shape: indices.shape, values: picked)
    }

    private func squeeze(_ x: FoldedTensor, axes: [Int]?, unsqueeze: Bool, _ index: Int) throws -> FoldedTensor {
        let rank = x.shape.count + (unsqueeze ? axes?.count ?? 0 : 0)
        let normal = try (axes ?? []).map { a -> Int in
            guard a >= -rank, a < rank else { throw failure(index, "axis \(a) is outside rank \(rank)") }
            return a < 0 ? a + rank : a
        }
        var shape: [Int]
        if unsqueeze {
            shape = x.shape
            for a in normal.sorted() { shape.insert(1, at: min(a, shape.count)) }
        } else {
            shape = x.shape.enumerated().filter { axes == nil ? $0.element != 1 : !normal.contains($0.offset) }.map(\.element)
        }
        return FoldedTensor(shape: shape, values: x.values)
    }

    private func slice(_ x: FoldedTensor, values: [FoldedTensor], node: Onnx_NodeProto, _ index: Int) throws -> FoldedTensor {
        guard x.shape.count == 1 else { throw failure(index, "only slices of a vector of dimensions are folded") }
        // Opset 10+: starts, ends, axes, steps as inputs; before: attributes.
        let starts = values.count > 1 ? values[1].values : ints(node, "starts") ?? []
        let ends = values.count > 2 ? values[2].values : ints(node, "ends") ?? []
        let steps = values.count > 4 ? values[4].values : [1]
        guard starts.count == 1, ends.count == 1, steps.count == 1, steps[0] != 0 else {
            throw failure(index, "only one-axis slices of a vector are folded")
        }
        let n = x.values.count
        let step = max(min(steps[0], n + 1), -(n + 1))  // Past the vector either way: one element.
        let bound = { (v: Int, low: Int, high: Int) in min(max(v < 0 ? v + n : v, low), high) }
        var picked: [Int] = []
        if step > 0 {
            var i = bound(starts[0], 0, n)
            let end = bound(ends[0], 0, n)
            while i < end {
                picked.append(x.values[i])
                i += step
            }
        } else {
            var i = bound(starts[0], -1, n - 1)
            let end = bound(ends[0], -1, n - 1)
            while i > end {
                picked.append(x.values[i])
                i += step
            }
        }
        return FoldedTensor(vector: picked)
    }

    /// nil when the tensor would be too large to be a shape computation.
    private func constantOfShape(_ x: FoldedTensor, node: Onnx_NodeProto, _ index: Int) throws -> FoldedTensor? {
        guard x.shape.count == 1, x.values.allSatisfy({ $0 >= 0 }) else { throw failure(index, "shape \(x.values) is invalid") }
        var count = 1
        for d in x.values {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= Self.maxElements else { return nil }
            count = product
        }
        var fill = 0
        if let value = node.attribute.first(where: { $0.name == "value" }), value.hasT {
            if let first = value.t.int64Data.first {
                fill = Int(first)
            } else if let first = value.t.int32Data.first {
                fill = Int(first)
            } else if value.t.rawData.count == 8 {
                fill = Int(Int64(littleEndian: value.t.rawData.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }))
            }
        }
        return FoldedTensor(shape: x.values, values: Array(repeating: fill, count: count))
    }

    /// Add, Sub, Mul, Div of integer tensors, one of them a scalar or both the same shape.
    private func arithmetic(_ op: String, _ values: [FoldedTensor], _ index: Int) throws -> FoldedTensor {
        guard values.count == 2 else { throw failure(index, "\(op) takes two inputs") }
        let (a, b) = (values[0], values[1])
        let shape = a.values.count == 1 && b.values.count != 1 ? b.shape : a.shape
        guard a.values.count == 1 || b.values.count == 1 || a.shape == b.shape else {
            throw failure(index, "\(op) of shapes \(a.shape) and \(b.shape) is not folded")
        }
        let count = max(a.values.count, b.values.count)
        let result = try (0..<count).map { i -> Int in
            let (x, y) = (a.values[a.values.count == 1 ? 0 : i], b.values[b.values.count == 1 ? 0 : i])
            let (value, overflow): (Int, Bool)
            switch op {
            case "Add": (value, overflow) = x.addingReportingOverflow(y)
            case "Sub": (value, overflow) = x.subtractingReportingOverflow(y)
            case "Mul": (value, overflow) = x.multipliedReportingOverflow(by: y)
            default:
                guard y != 0 else { throw failure(index, "division by zero") }
                (value, overflow) = x.dividedReportingOverflow(by: y)
            }
            guard !overflow else { throw failure(index, "\(op) overflows") }
            return value
        }
        return FoldedTensor(shape: shape, values: result)
    }

    // MARK: - Attributes

    func int(_ node: Onnx_NodeProto, _ name: String) -> Int? {
        node.attribute.first { $0.name == name }.map { Int(clamping: $0.i) }
    }

    func ints(_ node: Onnx_NodeProto, _ name: String) -> [Int]? {
        node.attribute.first { $0.name == name }.map { $0.ints.map { Int(clamping: $0) } }
    }
}
