/// Deterministic pseudo-random weights for any architecture, reproduced bit for bit by
/// `tools/synthetic.py`, so full-size networks are checked against PyTorch without storing
/// weights, and the default `infer` runs with no download.
///
/// Each tensor draws from SplitMix64 seeded with FNV-1a(key) XOR seed, in row-major order.
/// Ranges: conv/linear weights ±√(3/fan_in); BatchNorm γ [0.5, 1.5]; biases and running means
/// ±0.1; running variances [0.5, 1.5].
public enum SyntheticWeights {
    /// Every float parameter of `architecture`, by key.
    public static func parameters(for architecture: Architecture, seed: UInt64) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (key, shape) in WeightLayout(architecture).parameters {
            result[key] = tensor(key: key, shape: shape, seed: seed)
        }
        return result
    }

    /// The network itself, with BatchNorm folded.
    public static func model(_ architecture: Architecture, seed: UInt64) throws -> SEResNet {
        let layout = WeightLayout(architecture)
        let parameters = parameters(for: architecture, seed: seed)
        return try ModelBuilder.build(
            layout: layout, available: parameters.mapValues(\.shape), source: "synthetic \(architecture.modelName)",
            tensor: { parameters[$0]! })
    }

    /// The same deterministic input for a given shape and seed: uniform in [-1, 1].
    public static func input(shape: [Int], seed: UInt64) -> Tensor {
        Tensor.random(shape: shape, seed: seed, in: -1...1)
    }

    /// The tensor of state_dict entry `key` with `shape`, as tools/synthetic.py makes it.
    public static func tensor(key: String, shape: [Int], seed: UInt64) -> Tensor {
        let range: ClosedRange<Float>
        if shape.count >= 2 {
            let fanIn = shape.dropFirst().reduce(1, *)
            let bound = Float((3.0 / Double(fanIn)).squareRoot())
            range = -bound...bound
        } else if key.hasSuffix("running_var") || key.hasSuffix(".weight") {
            range = 0.5...1.5
        } else {
            range = -0.1...0.1  // biases and running means
        }
        return Tensor.random(shape: shape, seed: fnv1a(key) ^ seed, in: range)
    }

    /// 64-bit FNV-1a of the UTF-8 bytes.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}
