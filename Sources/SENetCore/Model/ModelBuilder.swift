import Foundation

/// Turns named PyTorch parameters into an `SEResNet`: checks that the names and shapes are
/// exactly the family's, then folds each BatchNorm into the convolution before it.
public enum ModelBuilder {
    /// BatchNorm epsilon of every family (PyTorch's default).
    public static let batchNormEpsilon = 1e-5

    /// Builds the network of `layout` from `tensor(key)`; `available` lists the file's float keys
    /// and shapes, checked first so a wrong file gives one line naming the problem.
    public static func build(
        layout: WeightLayout, available: [String: [Int]], source: String, tensor load: (String) throws -> Tensor
    ) throws -> SEResNet {
        try checkKeys(layout: layout, available: available, source: source)
        var warnings: [String] = []
        var names: [String: String] = [:]
        // Every tensor passes here once: NaN or infinity in a weight is worth a warning by name.
        func tensor(_ key: String) throws -> Tensor {
            let value = try load(key)
            let bad = value.data.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            if bad > 0 { warnings.append("tensor \(key) has \(bad) NaN or infinite values; outputs will not be finite") }
            return value
        }
        func convBN(_ c: WeightLayout.ConvBN) throws -> ConvLayer {
            names[c.name] = "\(c.weightKey) (\(c.batchNormPrefix) folded in)"
            func bn(_ field: String) throws -> Tensor { try tensor("\(c.batchNormPrefix).\(field)") }
            let (weight, bias) = fold(
                weight: try tensor(c.weightKey), gamma: try bn("weight"), beta: try bn("bias"), mean: try bn("running_mean"),
                variance: try bn("running_var"))
            return ConvLayer(
                name: c.name, weight: weight, bias: bias, stride: c.stride, padding: c.padding, relu: c.relu, groups: c.groups)
        }
        func matrix(_ key: String, _ rows: Int, _ columns: Int) throws -> Tensor {
            Tensor(shape: [rows, columns], data: try tensor(key).data)  // [R, C, 1, 1] → [R, C]
        }
        let blocks = try layout.blocks.map { block -> ResidualBlock in
            let se = block.squeezeExcite
            let (c, r) = (se.channels, se.reducedWidth)
            (names["\(se.name).fc1"], names[se.name]) = (se.reduceWeightKey, se.expandWeightKey)
            return ResidualBlock(
                name: block.name, convs: try block.convs.map(convBN),
                squeezeExcite: SqueezeExciteLayer(
                    name: se.name, reduceWeight: try matrix(se.reduceWeightKey, r, c), reduceBias: try tensor(se.reduceBiasKey),
                    expandWeight: try matrix(se.expandWeightKey, c, r), expandBias: try tensor(se.expandBiasKey)),
                shortcutPool: block.shortcutPool, downsample: try block.downsample.map(convBN))
        }
        var model = SEResNet(
            architecture: layout.architecture, stem: try layout.stem.map(convBN), stemPool: layout.stemPool, blocks: blocks,
            classifierWeight: try tensor(layout.classifierWeightKey),
            classifierBias: try tensor(layout.classifierBiasKey))
        model.warnings = warnings
        names["classifier"] = layout.classifierWeightKey
        model.weightNames = names
        return model
    }

    /// Throws naming the first missing keys, unexpected keys, or shape mismatch.
    static func checkKeys(layout: WeightLayout, available: [String: [Int]], source: String) throws {
        let expected = layout.parameters
        let fail = { (reason: String) in InputError.unsupportedModel(path: source, reason: reason) }
        let missing = expected.map(\.key).filter { available[$0] == nil }
        if !missing.isEmpty {
            throw fail(
                "\(missing.count) tensors missing for \(layout.architecture.modelName), first: \(missing.prefix(3).joined(separator: ", "))"
            )
        }
        let expectedKeys = Set(expected.map(\.key))
        let unexpected = available.keys.filter { !expectedKeys.contains($0) }.sorted()
        if !unexpected.isEmpty {
            throw fail(
                "\(unexpected.count) unexpected tensors for \(layout.architecture.modelName), first: \(unexpected.prefix(3).joined(separator: ", "))"
            )
        }
        for (key, shape) in expected where available[key] != shape {
            throw fail("tensor \(key) has shape \(available[key]!), expected \(shape)")
        }
    }

    /// BatchNorm folded into the conv before it: s = γ/√(σ²+ε); W' = W·s per output channel;
    /// b' = β − μ·s. Computed in Double, stored as Float.
    /// - weight: [OC, IC, K, K]; gamma, beta, mean, variance: [OC]
    static func fold(weight: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor) -> (Tensor, Tensor) {
        let outChannels = weight.shape[0]
        let perChannel = weight.count / outChannels
        var folded = weight
        var bias = Tensor(shape: [outChannels])
        for o in 0..<outChannels {
            let scale = Double(gamma.data[o]) / (Double(variance.data[o]) + batchNormEpsilon).squareRoot()
            for i in 0..<perChannel {
                folded.data[o * perChannel + i] = Float(Double(weight.data[o * perChannel + i]) * scale)
            }
            bias.data[o] = Float(Double(beta.data[o]) - Double(mean.data[o]) * scale)
        }
        return (folded, bias)
    }
}
