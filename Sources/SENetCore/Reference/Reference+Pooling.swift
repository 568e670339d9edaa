extension Reference {
    /// Max pooling, PyTorch semantics: padded positions never win; ceil mode may add a last,
    /// partial window.
    /// - input: [N, C, H, W] → [N, C, OH, OW]
    public static func maxPool2d(_ input: Tensor, kernel: Int, stride: Int, padding: Int, ceilMode: Bool) -> Tensor {
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let oh = windowOutputSize(input: h, kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
        let ow = windowOutputSize(input: w, kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
        var output = Tensor(shape: [n, c, oh, ow])
        for nc in 0..<(n * c) {
            for y in 0..<oh {
                for x in 0..<ow {
                    var best = -Float.infinity
                    for ky in 0..<kernel {
                        let iy = y * stride - padding + ky
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<kernel {
                            let ix = x * stride - padding + kx
                            if ix < 0 || ix >= w { continue }
                            best = max(best, input.data[(nc * h + iy) * w + ix])
                        }
                    }
                    output.data[(nc * oh + y) * ow + x] = best
                }
            }
        }
        return output
    }

    /// Average pooling; each window's mean is over its positions inside the input only.
    /// - input: [N, C, H, W] → [N, C, OH, OW]
    public static func averagePool2d(_ input: Tensor, window: PoolWindow) -> Tensor {
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (oh, ow) = (window.outputSize(h), window.outputSize(w))
        var output = Tensor(shape: [n, c, oh, ow])
        for nc in 0..<(n * c) {
            for y in 0..<oh {
                let y0 = y * window.stride - window.padding
                let ys = max(y0, 0)..<min(y0 + window.kernel, h)
                for x in 0..<ow {
                    let x0 = x * window.stride - window.padding
                    let xs = max(x0, 0)..<min(x0 + window.kernel, w)
                    var sum: Double = 0
                    for iy in ys { for ix in xs { sum += Double(input.data[(nc * h + iy) * w + ix]) } }
                    output.data[(nc * oh + y) * ow + x] = Float(sum / Double(ys.count * xs.count))
                }
            }
        }
        return output
    }

    /// Mean over each channel's plane: [N, C, H, W] → [N, C]. Accumulates in Double so the
    /// oracle stays exact over 56×56 planes.
    public static func globalAveragePool(_ input: Tensor) -> Tensor {
        let (n, c) = (input.shape[0], input.shape[1])
        let plane = input.shape[2] * input.shape[3]
        var output = Tensor(shape: [n, c])
        for nc in 0..<(n * c) {
            var sum: Double = 0
            for p in 0..<plane { sum += Double(input.data[nc * plane + p]) }
            output.data[nc] = Float(sum / Double(plane))
        }
        return output
    }
}
