/// The CPU reference: one plain function per op, written for clarity. Every OpenCL kernel is
/// tested against these, and `compare` uses them as the oracle.
public enum Reference {}

/// Output extent of a convolution or pooling window along one axis.
public func windowOutputSize(input: Int, kernel: Int, stride: Int, padding: Int, ceilMode: Bool = false) -> Int {
    let span = input + 2 * padding - kernel
    precondition(span >= 0, "window \(kernel) larger than padded input \(input + 2 * padding)")
    var size = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
    // PyTorch's rule: in ceil mode the last window must start inside the input or left padding.
    if ceilMode && (size - 1) * stride >= input + padding { size -= 1 }
    return size
}

extension Reference {
    /// 2-D convolution, PyTorch semantics.
    /// - input:  [N, C, H, W]
    /// - weight: [OC, C / groups, KH, KW]
    /// - bias:   [OC] or nil
    /// - returns [N, OC, OH, OW]
    public static func conv2d(
        _ input: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0, groups: Int = 1
    ) -> Tensor {
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (oc, icPerGroup, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        precondition(c == icPerGroup * groups && oc % groups == 0, "conv2d channel mismatch")
        let oh = windowOutputSize(input: h, kernel: kh, stride: stride, padding: padding)
        let ow = windowOutputSize(input: w, kernel: kw, stride: stride, padding: padding)
        let ocPerGroup = oc / groups
        var output = Tensor(shape: [n, oc, oh, ow])
        input.data.withUnsafeBufferPointer { source in
            weight.data.withUnsafeBufferPointer { wt in
                output.data.withUnsafeMutableBufferPointer { out in
                    for b in 0..<n {
                        for o in 0..<oc {
                            // One output plane: start from the bias, then add each weight times
                            // the input pixels it touches (the loop over x is contiguous).
                            let plane = (b * oc + o) * oh * ow
                            for p in 0..<(oh * ow) { out[plane + p] = bias?.data[o] ?? 0 }
                            let group = o / ocPerGroup
                            for i in 0..<icPerGroup {
                                let channel = ((b * c) + group * icPerGroup + i) * h * w
                                for ky in 0..<kh {
                                    for kx in 0..<kw {
                                        let weightValue = wt[((o * icPerGroup + i) * kh + ky) * kw + kx]
                                        // Output columns whose input column x*stride - padding + kx is inside.
                                        let xFirst = max(0, (padding - kx + stride - 1) / stride)
                                        let lastColumn = w - 1 + padding - kx
                                        let xEnd = lastColumn < 0 ? 0 : min(ow, lastColumn / stride + 1)
                                        if xFirst >= xEnd { continue }
                                        for y in 0..<oh {
                                            let iy = y * stride - padding + ky
                                            if iy < 0 || iy >= h { continue }
                                            let row = channel + iy * w - padding + kx
                                            let outRow = plane + y * ow
                                            for x in xFirst..<xEnd {
                                                out[outRow + x] += weightValue * source[row + x * stride]
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// Fully connected layer: [N, IN] × weight [OUT, IN]ᵀ + bias [OUT] → [N, OUT].
    public static func linear(_ input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let (n, inFeatures) = (input.shape[0], input.shape[1])
        let outFeatures = weight.shape[0]
        precondition(weight.shape[1] == inFeatures, "linear: input has \(inFeatures) features, weight \(weight.shape)")
        var output = Tensor(shape: [n, outFeatures])
        for b in 0..<n {
            for o in 0..<outFeatures {
                var sum: Float = bias?.data[o] ?? 0
                for i in 0..<inFeatures {
                    sum += input.data[b * inFeatures + i] * weight.data[o * inFeatures + i]
                }
                output.data[b * outFeatures + o] = sum
            }
        }
        return output
    }
}
