import SENetCore

/// The identity of a convolution shape in the tuning table (CLBlast's database key): its
/// geometry, precision and kernel family. fp16 shapes are their own entries (other loads, and
/// half arithmetic among the candidates), and so is each family's winner.
public struct ConvShapeKey: Codable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public var kernel, stride, padding, groups, inChannels, outChannels, height, width, batch: Int
    public var precision: Precision
    public var family: KernelFamily

    public init(_ g: ConvGeometry, precision: Precision = .fp32, family: KernelFamily = .cpu) {
        (kernel, stride, padding, groups) = (g.kernelHeight, g.stride, g.padding, g.groups)
        (inChannels, outChannels, height, width, batch) = (g.inChannels, g.outChannels, g.height, g.width, g.batch)
        (self.precision, self.family) = (precision, family)
    }

    /// The same layer at batch size `n`.
    public func atBatch(_ n: Int) -> ConvShapeKey {
        var other = self
        other.batch = n
        return other
    }

    /// The shape as `tune` prints it (the family is the table's, not part of the text).
    public var description: String {
        "k\(kernel) s\(stride) p\(padding) g\(groups) c\(inChannels) o\(outChannels) \(height)x\(width) n\(batch)"
            + (precision == .fp16 ? " fp16" : "")
    }

    public static func < (a: ConvShapeKey, b: ConvShapeKey) -> Bool {
        (a.family.rawValue, a.description) < (b.family.rawValue, b.description)
    }
}

/// What tuning found for one shape: the algorithm that won and its tiling.
public struct TunedConvolution: Codable, Hashable, Sendable, CustomStringConvertible {
    public var algorithm: String
    public var tiling: ConvolutionTiling

    public init(algorithm: String, tiling: ConvolutionTiling) { (self.algorithm, self.tiling) = (algorithm, tiling) }

    /// A CPU-family tiling under the algorithm whose kernel it names: `ocvec` or `tiled`.
    public init(cpu tiling: ConvTiling) {
        self.init(algorithm: tiling.kernel == .channelVector ? "ocvec" : "tiled", tiling: .cpu(tiling))
    }

    /// A GPU-family tiling: `gemm-gpu`.
    public init(gpu tiling: GPUConvTiling) { self.init(algorithm: "gemm-gpu", tiling: .gpu(tiling)) }

    /// The shape as `tune` prints it (the family is the table's, not part of the text).
    public var description: String { "\(algorithm) \(tiling)" }
}

extension TuningTable {
    /// Where a tuned entry came from: the exact shape, or the same layer tuned at another batch.
    public enum Match: Equatable, Sendable {
        case exact
        case otherBatch(Int)

        /// The batch size of an entry from another batch; nil for the exact shape.
        public var otherBatch: Int? {
            if case .otherBatch(let batch) = self { return batch }
            return nil
        }
    }

    /// The fallback chain (CLBlast's database): the exact shape, else the same layer at the
    /// nearest batch size tuned (so a `tune` at batch 1 serves `serve`'s padded 2/4/8 plans),
    /// else nil, and the algorithms' device-type defaults run.
    public func lookup(_ g: ConvGeometry, precision: Precision, family: KernelFamily) -> (
        entry: TunedConvolution, match: Match
    )? {
        let key = ConvShapeKey(g, precision: precision, family: family)
        if let entry = entries[key] { return (entry, .exact) }
        let nearest = entries.keys.filter { $0.atBatch(key.batch) == key }.min {
            (abs($0.batch - key.batch), $0.batch) < (abs($1.batch - key.batch), $1.batch)
        }
        return nearest.map { (entries[$0]!, .otherBatch($0.batch)) }
    }
}
