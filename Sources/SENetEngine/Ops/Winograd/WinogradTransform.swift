import SENetCore

/// Winograd's minimal filtering F(m×m, 3×3) (Lavin and Gray 2015) for 3×3 stride-1
/// convolutions: each m×m output tile comes from an α×α input tile (α = m + 2) with α²
/// multiplies per input and output channel pair, where the direct form needs 9m². F(2,3)
/// saves 2.25×, F(4,3) 4×, at the cost of transforms and of rounding, which grows with m.
///
/// The weights are transformed once at load (`transformedWeights`); the input and output
/// transforms run per tile. `convolve` is the whole algorithm in plain Swift: the device
/// kernels' oracle, and the measure of its error against the direct convolution.
public struct WinogradTransform: Sendable, Equatable {
    /// Output tile side: 2 or 4.
    public let m: Int
    /// Input tile side, m + 2.
    public var alpha: Int { m + 2 }

    public init?(m: Int) {
        guard m == 2 || m == 4 else { return nil }
        self.m = m
    }

    /// G (α × 3): weight transform, U = G g Gᵀ.
    var g: [[Float]] {
        m == 2
            ? [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
            : [
                [1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
                [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1],
            ]
    }

    /// Bᵀ (α × α): input transform, V = Bᵀ d B.
    var bT: [[Float]] {
        m == 2
            ? [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
            : [
                [4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1],
            ]
    }

    /// Aᵀ (m × α): output transform, Y = Aᵀ M A.
    var aT: [[Float]] {
        m == 2
            ? [[1, 1, 1, 0], [0, 1, -1, -1]]
            : [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
    }

    /// L x Rᵀ for small row-major matrices: L (r × k), x (k × k), R (c × k) → r × c.
    static func sandwich(_ left: [[Float]], _ x: [[Float]], _ right: [[Float]]) -> [[Float]] {
        let inner = left.map { row in (0..<x[0].count).map { j in zip(row, x).reduce(0) { $0 + $1.0 * $1.1[j] } } }
        return inner.map { row in right.map { r in zip(row, r).reduce(0) { $0 + $1.0 * $1.1 } } }
    }

    /// Weights [O, I, 3, 3] → U as [α², O, I]: the α² matrices the per-point GEMMs multiply.
    /// Flat loops with no per-pair arrays: SE-ResNet-50 transforms 1.3 M 3×3 kernels at every
    /// plan's load, and the nested-array form took about a second of each start. Sums run in
    /// `sandwich`'s order, so both give the same bits.
    public func transformedWeights(_ weight: Tensor) -> Tensor {
        let (o, i) = (weight.shape[0], weight.shape[1])
        precondition(weight.shape == [o, i, 3, 3], "Winograd F(\(m),3) needs 3×3 weights, not \(weight.shape)")
        let (a, points) = (alpha, alpha * alpha)
        let gFlat = g.flatMap { $0 }  // α × 3, row-major
        var u = Tensor(shape: [points, o, i])
        weight.data.withUnsafeBufferPointer { w in
            u.data.withUnsafeMutableBufferPointer { out in
                var inner = [Float](repeating: 0, count: a * 3)  // G g, α × 3
                for pair in 0..<(o * i) {
                    let base = pair * 9
                    for r in 0..<a {
                        for j in 0..<3 {
                            var sum: Float = 0
                            for k in 0..<3 { sum += gFlat[r * 3 + k] * w[base + k * 3 + j] }
                            inner[r * 3 + j] = sum
                        }
                    }
                    for r in 0..<a {
                        for c in 0..<a {
                            var sum: Float = 0
                            for k in 0..<3 { sum += inner[r * 3 + k] * gFlat[c * 3 + k] }
                            out[(r * a + c) * o * i + pair] = sum
                        }
                    }
                }
            }
        }
        return u
    }

    /// A 3×3, stride-1, padding-1 convolution of `input` [N, I, H, W] with transformed weights
    /// `u` [α², O, I], tile by tile as the device kernels do it; same output as `Reference.conv2d`
    /// up to rounding.
    public func convolve(_ input: Tensor, transformed u: Tensor, bias: Tensor?) -> Tensor {
        let (n, channels, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let outChannels = u.shape[1]
        precondition(u.shape == [alpha * alpha, outChannels, channels], "transformed weights \(u.shape) do not fit")
        var output = Tensor(shape: [n, outChannels, h, w])
        for b in 0..<n {
            for tileY in stride(from: 0, to: h, by: m) {
                for tileX in stride(from: 0, to: w, by: m) {
                    // V[p][ic]: every input channel's tile, transformed; padding reads zero.
                    var v = [[Float]](repeating: [Float](repeating: 0, count: channels), count: alpha * alpha)
                    for ic in 0..<channels {
                        let d = (0..<alpha).map { r in
                            (0..<alpha).map { c -> Float in
                                let (y, x) = (tileY - 1 + r, tileX - 1 + c)
                                guard y >= 0, y < h, x >= 0, x < w else { return 0 }
                                return input.data[((b * channels + ic) * h + y) * w + x]
                            }
                        }
                        let transformed = Self.sandwich(bT, d, bT)
                        for p in 0..<(alpha * alpha) { v[p][ic] = transformed[p / alpha][p % alpha] }
                    }
                    for oc in 0..<outChannels {
                        // M[p] = Σ_ic U[p][oc][ic] V[p][ic]: the per-point GEMMs, one column.
                        var product = [[Float]](repeating: [Float](repeating: 0, count: alpha), count: alpha)
                        for p in 0..<(alpha * alpha) {
                            let row = (p * outChannels + oc) * channels
                            product[p / alpha][p % alpha] = (0..<channels).reduce(0) { $0 + u.data[row + $1] * v[p][$1] }
                        }
                        let y = Self.sandwich(aT, product, aT)
                        for r in 0..<m where tileY + r < h {
                            for c in 0..<m where tileX + c < w {
                                output.data[((b * outChannels + oc) * h + tileY + r) * w + tileX + c] =
                                    y[r][c] + (bias?.data[oc] ?? 0)
                            }
                        }
                    }
                }
            }
        }
        return output
    }
}
