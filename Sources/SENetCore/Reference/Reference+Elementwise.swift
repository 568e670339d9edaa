import Foundation

extension Reference {
    /// max(x, 0), elementwise.
    public static func relu(_ input: Tensor) -> Tensor {
        Tensor(shape: input.shape, data: input.data.map { max($0, 0) })
    }

    /// 1 / (1 + e^-x), elementwise.
    public static func sigmoid(_ input: Tensor) -> Tensor {
        Tensor(shape: input.shape, data: input.data.map { 1 / (1 + exp(-$0)) })
    }

    /// a + b, elementwise; shapes must match.
    public static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "add: shapes \(a.shape) and \(b.shape) differ")
        return Tensor(shape: a.shape, data: zip(a.data, b.data).map { $0 + $1 })
    }

    /// Squeeze-excite scaling: input [N, C, H, W] × scale [N, C] per channel → [N, C, H, W].
    public static func channelScale(_ input: Tensor, scale: Tensor) -> Tensor {
        let (n, c) = (input.shape[0], input.shape[1])
        let plane = input.shape[2] * input.shape[3]
        precondition(scale.count == n * c, "channelScale: scale has \(scale.count) values for \(n)×\(c) channels")
        var output = input
        for nc in 0..<(n * c) {
            for p in 0..<plane { output.data[nc * plane + p] *= scale.data[nc] }
        }
        return output
    }

    /// Softmax over the last axis of [N, K], computed stably (max subtracted).
    public static func softmax(_ input: Tensor) -> Tensor {
        let (n, k) = (input.shape[0], input.shape[1])
        var output = input
        for b in 0..<n {
            let row = input.data[(b * k)..<((b + 1) * k)]
            let top = row.max() ?? 0
            let exps = row.map { exp($0 - top) }
            let total = exps.reduce(0, +)
            for j in 0..<k { output.data[b * k + j] = exps[j] / total }
        }
        return output
    }
}
