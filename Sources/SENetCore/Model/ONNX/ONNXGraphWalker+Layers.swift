import Foundation

/// The layer patterns: what one convolution, one fully connected layer and one squeeze-excite
/// look like in the graphs PyTorch's exporters write.
extension ONNXGraphWalker {
    /// A Conv reading `value`, with a following BatchNormalization folded in and a following
    /// Relu fused, when each is the only reader. Returns the layer (named `name`), the value
    /// after it and the node names to show (the Conv's) and the weight's initializer name.
    mutating func convolution(at index: Int, name: String) throws -> (layer: ConvLayer, output: String, weightName: String) {
        let conv = node(index)
        guard conv.opType == "Conv", conv.input.count >= 2, file.isConstant(conv.input[1]) else {
            throw mismatch(index, "expected a Conv with a constant weight")
        }
        use(index)
        let (kernel, stride, padding) = try window(index)
        let groups = int(index, "group", default: 1)
        var weight = try file.floats(conv.input[1])
        let s = weight.shape
        guard s.count == 4, s[2] == kernel, s[3] == kernel, s[0] >= 1, s[1] >= 1, groups >= 1, s[0] % groups == 0 else {
            throw mismatch(index, "weight shape \(s) does not fit kernel \(kernel) and group \(groups)")
        }
        var bias = Tensor(shape: [s[0]])
        if conv.input.count > 2, !conv.input[2].isEmpty {
            bias = try file.floats(conv.input[2])
            guard bias.shape == [s[0]] else { throw mismatch(index, "bias shape \(bias.shape), expected [\(s[0])]") }
        }
        var output = conv.output[0]
        if let bn = soleReader(output, ["BatchNormalization"]) {
            (weight, bias) = try foldBatchNorm(bn, weight: weight, bias: bias)
            output = node(bn).output[0]
        }
        var relu = false
        if let r = soleReader(output, ["Relu"]) {
            use(r)
            (relu, output) = (true, node(r).output[0])
        }
        let layer = ConvLayer(
            name: name, weight: weight, bias: bias, stride: stride, padding: padding, relu: relu, groups: groups)
        return (layer, output, conv.input[1])
    }

    /// BatchNormalization (inference form) folded into the conv before it, in Double.
    private mutating func foldBatchNorm(_ index: Int, weight: Tensor, bias: Tensor) throws -> (Tensor, Tensor) {
        use(index)
        let bn = node(index)
        guard bn.input.count == 5, bn.input.dropFirst().allSatisfy(file.isConstant) else {
            throw mismatch(index, "expected scale, bias, mean and variance constants")
        }
        let (gamma, beta, mean, variance) = (
            try file.floats(bn.input[1]), try file.floats(bn.input[2]), try file.floats(bn.input[3]), try file.floats(bn.input[4])
        )
        let channels = weight.shape[0]
        guard [gamma, beta, mean, variance].allSatisfy({ $0.count == channels }) else {
            throw mismatch(index, "parameters do not have \(channels) channels")
        }
        let epsilon = Double(float(index, "epsilon", default: 1e-5))
        let perChannel = weight.count / channels
        var (w, b) = (weight, bias)
        for o in 0..<channels {
            let scale = Double(gamma.data[o]) / (Double(variance.data[o]) + epsilon).squareRoot()
            for i in 0..<perChannel { w.data[o * perChannel + i] = Float(Double(weight.data[o * perChannel + i]) * scale) }
            b.data[o] = Float((Double(bias.data[o]) - Double(mean.data[o])) * scale + Double(beta.data[o]))
        }
        return (w, b)
    }

    /// A fully connected layer reading `value` (through shape ops): Gemm, MatMul [+ Add], or a
    /// 1×1 Conv on [N, C, 1, 1]. Returns the weight [out, in], the bias, the output value, the
    /// node to show and the weight's initializer name.
    mutating func fullyConnected(_ value: String) throws -> (
        weight: Tensor, bias: Tensor, output: String, node: Int, weightName: String
    ) {
        let value = try skipShapeOps(value)
        guard let index = soleReader(value, ["Gemm", "MatMul", "Conv"]) else {
            throw mismatch(readers(value).first, "expected one Gemm, MatMul or 1×1 Conv to read '\(value.escapingLineBreaks)'")
        }
        use(index)
        let fc = node(index)
        guard fc.input.count >= 2, fc.input[0] == value, file.isConstant(fc.input[1]) else {
            throw mismatch(index, "expected a constant weight as the second input")
        }
        let raw = try file.floats(fc.input[1])
        var weight: Tensor
        var biasName: String? = fc.input.count > 2 && !fc.input[2].isEmpty ? fc.input[2] : nil
        var output = fc.output[0]
        switch fc.opType {
        case "Conv":
            guard raw.shape.count == 4, raw.shape[2] == 1, raw.shape[3] == 1, int(index, "group", default: 1) == 1 else {
                throw mismatch(index, "a Conv on pooled features must be 1×1 with one group, weight \(raw.shape)")
            }
            weight = Tensor(shape: [raw.shape[0], raw.shape[1]], data: raw.data)
        case "Gemm":
            guard int(index, "transA", default: 0) == 0, float(index, "alpha", default: 1) == 1,
                float(index, "beta", default: 1) == 1,
                raw.shape.count == 2
            else { throw mismatch(index, "only Gemm with transA 0, alpha 1 and beta 1 is supported") }
            weight = int(index, "transB", default: 0) == 1 ? raw : raw.transposed2D()
        default:  // MatMul [N, F] × [F, K], then an optional Add of a constant bias
            guard raw.shape.count == 2 else { throw mismatch(index, "MatMul weight \(raw.shape) is not 2-D") }
            weight = raw.transposed2D()
            if let add = soleReader(output, ["Add"]), let other = node(add).input.first(where: { $0 != output }),
                file.isConstant(other)
            {
                use(add)
                (biasName, output) = (other, node(add).output[0])
            }
        }
        var bias = Tensor(shape: [weight.shape[0]])
        if let biasName {
            bias = try file.floats(biasName)
            guard bias.count == weight.shape[0] else {
                throw mismatch(index, "bias of \(bias.count) for \(weight.shape[0]) outputs")
            }
            bias = Tensor(shape: [weight.shape[0]], data: bias.data)
        }
        return (weight, bias, output, index, fc.input[1])
    }

    /// Global average pooling of `value`: GlobalAveragePool, ReduceMean over axes 2 and 3, or
    /// an AveragePool whose fixed window is the whole map (`fixedGlobalPoolWindow`).
    func globalPool(reading value: String) -> Int? {
        for index in readers(value) {
            let n = node(index)
            if n.opType == "GlobalAveragePool" || fixedGlobalPoolWindow(index) != nil { return index }
            if n.opType == "ReduceMean" {
                var axes = ints(index, "axes")
                if axes == nil, n.input.count > 1 { axes = try? file.integers(n.input[1]) }
                if let axes, Set(axes.map { ($0 + 4) % 4 }) == [2, 3] { return index }
            }
        }
        return nil
    }

    /// The window of an AveragePool that covers its whole input map on the probe, unpadded,
    /// and is not a shortcut's pool (its conv feeds no Add): the classic SENet's
    /// `AvgPool2d(56)`, a global pool at that map size only. Nil for any other node.
    func fixedGlobalPoolWindow(_ index: Int) -> [Int]? {
        let n = node(index)
        guard n.opType == "AveragePool", let input = n.input.first, let s = shapes.shape(input), s.count == 4,
            ints(index, "kernel_shape") == [s[2], s[3]], (ints(index, "pads") ?? []).allSatisfy({ $0 == 0 }),
            !readers(n.output[0]).contains(where: { node($0).opType == "Conv" && feedsAdd(convOutput: $0) })
        else { return nil }
        return [s[2], s[3]]
    }

    /// The squeeze-excite on `branch`: pool → FC → Relu → FC → Sigmoid → Mul with `branch`.
    /// Returns the layer, the Mul node, and the nodes to show for pool, reduce and expand.
    mutating func squeezeExcite(on branch: String, name: String) throws -> (
        layer: SqueezeExciteLayer, mul: Int, pool: Int, reduce: Int, expand: Int, weightNames: (String, String)
    ) {
        guard let pool = globalPool(reading: branch) else {
            throw mismatch(readers(branch).first, "expected the squeeze-excite's global average pool")
        }
        use(pool)
        let reduce = try fullyConnected(node(pool).output[0])
        guard let relu = soleReader(reduce.output, ["Relu"]) else { throw mismatch(reduce.node, "expected a Relu after it") }
        use(relu)
        let expand = try fullyConnected(node(relu).output[0])
        guard let sigmoid = soleReader(expand.output, ["Sigmoid"]) else {
            throw mismatch(expand.node, "expected a Sigmoid after it")
        }
        use(sigmoid)
        let scale = try skipShapeOps(node(sigmoid).output[0])
        guard let mul = soleReader(scale, ["Mul"]), Set(node(mul).input) == [scale, branch] else {
            throw mismatch(sigmoid, "expected its output to scale the block's branch in one Mul")
        }
        use(mul)
        if node(reduce.node).opType != "Conv" { linearSqueezeExcite = true }
        let (c, r) = (expand.weight.shape[0], reduce.weight.shape[0])
        guard reduce.weight.shape == [r, c], expand.weight.shape == [c, r] else {
            throw mismatch(expand.node, "squeeze-excite weights \(reduce.weight.shape) and \(expand.weight.shape) do not chain")
        }
        let layer = SqueezeExciteLayer(
            name: name, reduceWeight: reduce.weight, reduceBias: reduce.bias, expandWeight: expand.weight,
            expandBias: expand.bias)
        return (layer, mul, pool, reduce.node, expand.node, (reduce.weightName, expand.weightName))
    }
}

extension Tensor {
    /// [R, C] → [C, R].
    func transposed2D() -> Tensor {
        let (rows, columns) = (shape[0], shape[1])
        var result = Tensor(shape: [columns, rows])
        for r in 0..<rows { for c in 0..<columns { result.data[c * rows + r] = data[r * columns + c] } }
        return result
    }
}
