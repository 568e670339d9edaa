import ONNXProto

/// Output shapes of the data ops an SE-ResNet graph is made of, as the ONNX operator
/// specification defines them. Unknown ops, unknown input shapes and attributes out of any
/// sane range give nil (the value's shape stays unknown), never a trap: the file is untrusted.
extension ONNXShapeFolding {
    /// Largest dimension or attribute value the rules compute with.
    private static let limit = 1 << 24

    func outputShape(_ node: Onnx_NodeProto, _ index: Int) -> [Int]? {
        guard let name = node.input.first, let x = shape(name), x.allSatisfy({ $0 >= 0 && $0 <= Self.limit }) else {
            return nil
        }
        let second = node.input.count > 1 ? shape(node.input[1]) : nil
        switch node.opType {
        case "BatchNormalization", "Relu", "Sigmoid", "Identity", "Dropout", "Softmax", "Cast":
            return x
        case "Conv":
            guard x.count == 4, let w = second, w.count == 4, let spatial = window(node, x, kernel: Array(w[2...])) else {
                return nil
            }
            return [x[0], w[0]] + spatial
        case "MaxPool", "AveragePool":
            guard x.count == 4, let k = ints(node, "kernel_shape"), let spatial = window(node, x, kernel: k) else { return nil }
            return [x[0], x[1]] + spatial
        case "GlobalAveragePool":
            return x.count == 4 ? [x[0], x[1], 1, 1] : nil
        case "ReduceMean":
            let axes = ints(node, "axes") ?? (node.input.count > 1 ? integers(node.input[1])?.values : nil)
            guard let normal = normalized(axes ?? Array(x.indices), rank: x.count) else { return nil }
            if int(node, "keepdims") ?? 1 == 0 { return x.indices.filter { !normal.contains($0) }.map { x[$0] } }
            return x.indices.map { normal.contains($0) ? 1 : x[$0] }
        case "Flatten":
            let axis = int(node, "axis") ?? 1
            let split = axis < 0 ? axis + x.count : axis
            guard (0...x.count).contains(split), let outer = product(x[..<split]), let inner = product(x[split...]) else {
                return nil
            }
            return [outer, inner]
        case "Reshape":
            guard node.input.count > 1, let target = integers(node.input[1]) else { return nil }
            return reshaped(x, target: target.values, node: node)
        case "Squeeze", "Unsqueeze":
            let axes = ints(node, "axes") ?? (node.input.count > 1 ? integers(node.input[1])?.values : nil)
            if node.opType == "Squeeze" {
                guard let axes else { return x.filter { $0 != 1 } }
                guard let normal = normalized(axes, rank: x.count) else { return nil }
                return x.indices.filter { !normal.contains($0) }.map { x[$0] }
            }
            guard let axes, let normal = normalized(axes, rank: x.count + axes.count) else { return nil }
            var result = x
            for axis in normal.sorted() where axis <= result.count { result.insert(1, at: axis) }
            return result.count == x.count + axes.count ? result : nil
        case "Gemm":
            guard x.count == 2, let b = second, b.count == 2 else { return nil }
            let (transA, transB) = ((int(node, "transA") ?? 0) != 0, (int(node, "transB") ?? 0) != 0)
            return [transA ? x[1] : x[0], transB ? b[0] : b[1]]
        case "MatMul":
            guard x.count >= 2, let b = second, b.count == 2 else { return nil }
            return x.dropLast() + [b[1]]
        case "Add", "Sub", "Mul", "Div":
            guard let b = second else { return nil }
            return broadcast(x, b)
        case "Expand":
            guard node.input.count > 1, let target = integers(node.input[1]), target.shape.count == 1 else { return nil }
            return broadcast(x, target.values)
        default:
            return nil
        }
    }

    /// Reshape's target with 0 (copy the input's dimension, unless `allowzero`) and one -1
    /// (the rest) resolved; nil when it does not fit the input's element count.
    func reshaped(_ x: [Int], target: [Int], node: Onnx_NodeProto) -> [Int]? {
        let allowZero = (int(node, "allowzero") ?? 0) != 0
        guard target.count <= 8, target.filter({ $0 == -1 }).count <= 1, let total = product(x[...]) else { return nil }
        var result: [Int] = []
        for (i, t) in target.enumerated() {
            if t == 0 && !allowZero {
                guard i < x.count else { return nil }
                result.append(x[i])
            } else {
                guard t >= -1, t <= Self.limit else { return nil }
                result.append(t)
            }
        }
        guard let known = product(result.filter { $0 != -1 }[...]) else { return nil }
        if let hole = result.firstIndex(of: -1) {
            guard known > 0, total % known == 0 else { return nil }
            result[hole] = total / known
        } else if known != total {
            return nil
        }
        return result
    }

    /// Output sizes of a 2-D window (Conv, MaxPool, AveragePool): explicit pads, strides,
    /// dilations and ceil mode; nil for auto_pad or values out of range.
    private func window(_ node: Onnx_NodeProto, _ x: [Int], kernel: [Int]) -> [Int]? {
        let strides = ints(node, "strides") ?? [1, 1]
        let pads = ints(node, "pads") ?? [0, 0, 0, 0]
        let dilations = ints(node, "dilations") ?? [1, 1]
        let autoPad = node.attribute.first { $0.name == "auto_pad" }.map { String(decoding: $0.s, as: UTF8.self) }
        let ceil = (int(node, "ceil_mode") ?? 0) != 0
        guard kernel.count == 2, strides.count == 2, pads.count == 4, dilations.count == 2,
            autoPad == nil || autoPad == "NOTSET",
            (kernel + dilations + strides).allSatisfy({ $0 >= 1 && $0 <= Self.limit }),
            pads.allSatisfy({ $0 >= 0 && $0 <= Self.limit })
        else { return nil }
        var sizes: [Int] = []
        for axis in 0..<2 {
            let span = x[2 + axis] + pads[axis] + pads[axis + 2] - dilations[axis] * (kernel[axis] - 1) - 1
            guard span >= 0 else { return nil }
            let steps = ceil ? (span + strides[axis] - 1) / strides[axis] : span / strides[axis]
            sizes.append(steps + 1)
        }
        return sizes
    }

    /// Axes in 0..<rank, or nil when one is outside [-rank, rank).
    private func normalized(_ axes: [Int], rank: Int) -> Set<Int>? {
        var result = Set<Int>()
        for axis in axes {
            guard axis >= -rank, axis < rank else { return nil }
            result.insert(axis < 0 ? axis + rank : axis)
        }
        return result
    }

    /// Numpy broadcasting of two shapes.
    func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        let (pa, pb) = (Array(repeating: 1, count: rank - a.count) + a, Array(repeating: 1, count: rank - b.count) + b)
        var result: [Int] = []
        for (x, y) in zip(pa, pb) {
            guard x == y || x == 1 || y == 1 else { return nil }
            result.append(x == 1 ? y : x)
        }
        return result
    }

    /// The product, or nil past `limit`² (no overflow on any input).
    private func product(_ dims: ArraySlice<Int>) -> Int? {
        var result = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (p, overflow) = result.multipliedReportingOverflow(by: d)
            guard !overflow, p <= Self.limit * Self.limit else { return nil }
            result = p
        }
        return result
    }
}
