import SENetCore

/// How an image becomes a network input: resize the shorter side (bilinear, as PIL does it),
/// centre crop, scale to [0, 1], normalise per channel. The defaults are the ImageNet
/// preprocessing every supported weight family was trained with (GUIDE §3).
public struct Preprocessing: Sendable, Equatable {
    /// Target of the shorter side; the longer side keeps the aspect ratio (torchvision's rule).
    public var resize = 256
    /// Side of the square centre crop.
    public var crop = 224
    public var mean: [Float] = [0.485, 0.456, 0.406]
    public var std: [Float] = [0.229, 0.224, 0.225]

    public init(resize: Int = 256, crop: Int = 224, mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]) {
        (self.resize, self.crop, self.mean, self.std) = (resize, crop, mean, std)
    }

    /// Size after the resize step, as torchvision's `Resize(int)` computes it.
    public func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        if width <= height { return (resize, Int(Double(resize) * Double(height) / Double(width))) }
        return (Int(Double(resize) * Double(width) / Double(height)), resize)
    }

    /// Top-left corner of the centre crop in an image of `width`×`height` (torchvision's rounding).
    public func cropOrigin(width: Int, height: Int) -> (x: Int, y: Int) {
        (Int((Double(width - crop) / 2).rounded()), Int((Double(height - crop) / 2).rounded()))
    }

    /// Checks the settings make sense for an image of `width`×`height`.
    public func validate(width: Int, height: Int) throws {
        guard resize >= 1, crop >= 32, mean.count == 3, std.count == 3, std.allSatisfy({ $0 != 0 && $0.isFinite }) else {
            throw InputError.invalidPreprocessing(resize: resize, crop: crop, mean: mean, std: std)
        }
        let (w, h) = resizedSize(width: width, height: height)
        guard crop <= w, crop <= h else {
            throw InputError.cropLargerThanImage(crop: crop, width: w, height: h)
        }
    }
}

extension Reference {
    /// The whole preprocessing on the CPU: image → [3, crop, crop] float tensor (CHW).
    public static func preprocess(_ image: RGBImage, _ p: Preprocessing) throws -> Tensor {
        try p.validate(width: image.width, height: image.height)
        let (w, h) = p.resizedSize(width: image.width, height: image.height)
        let resized = resizeBilinear(image, width: w, height: h)
        let (x0, y0) = p.cropOrigin(width: w, height: h)
        var output = Tensor(shape: [3, p.crop, p.crop])
        for c in 0..<3 {
            for y in 0..<p.crop {
                for x in 0..<p.crop {
                    let value = Float(resized.pixels[((y0 + y) * w + x0 + x) * 3 + c]) / 255
                    output.data[(c * p.crop + y) * p.crop + x] = (value - p.mean[c]) / p.std[c]
                }
            }
        }
        return output
    }

    /// PIL's `Image.resize(size, BILINEAR)` on 8-bit RGB, bit for bit: a separable triangle
    /// filter widened by the downscale factor (antialiasing), fixed-point weights with 22
    /// fraction bits, rounding, and clipping to 0…255 after each pass (horizontal, then vertical).
    public static func resizeBilinear(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        // PIL skips a pass whose size does not change; its weights would be the identity anyway.
        var current = image
        if width != image.width {
            let weights = ResampleWeights(inSize: image.width, outSize: width)
            var pixels = [UInt8](repeating: 0, count: width * image.height * 3)
            for y in 0..<image.height {
                for x in 0..<width {
                    for c in 0..<3 {
                        pixels[(y * width + x) * 3 + c] = weights.apply(at: x) { image.pixels[(y * image.width + $0) * 3 + c] }
                    }
                }
            }
            current = RGBImage(width: width, height: image.height, pixels: pixels)
        }
        if height != current.height {
            let weights = ResampleWeights(inSize: current.height, outSize: height)
            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            for y in 0..<height {
                for x in 0..<width {
                    for c in 0..<3 {
                        pixels[(y * width + x) * 3 + c] = weights.apply(at: y) { current.pixels[($0 * width + x) * 3 + c] }
                    }
                }
            }
            current = RGBImage(width: width, height: height, pixels: pixels)
        }
        return current
    }
}

/// Fixed-point filter taps of one resampling pass, computed as PIL computes them.
public struct ResampleWeights: Sendable {
    /// Fraction bits of the fixed-point weights (PIL: 32 − 8 − 2).
    public static let precisionBits = 22
    /// First input index of each output's window.
    public let first: [Int]
    /// Taps of each output's window (the window lengths).
    public let count: [Int]
    /// `kernelSize` fixed-point weights per output, zero-padded.
    public let weights: [Int32]
    public let kernelSize: Int

    public init(inSize: Int, outSize: Int) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale  // Bilinear (triangle) support is 1.
        kernelSize = Int(support.rounded(.up)) * 2 + 1
        var first: [Int] = []
        var count: [Int] = []
        var weights = [Int32](repeating: 0, count: outSize * kernelSize)
        for out in 0..<outSize {
            let center = (Double(out) + 0.5) * scale
            let low = max(Int(center - support + 0.5), 0)
            let high = min(Int(center + support + 0.5), inSize)
            var taps: [Double] = []
            for x in low..<high {
                let distance = abs((Double(x) - center + 0.5) / filterScale)
                taps.append(distance < 1 ? 1 - distance : 0)
            }
            let total = taps.reduce(0, +)
            for (i, tap) in taps.enumerated() {
                let normalised = total == 0 ? tap : tap / total
                let scaled = normalised * Double(1 << Self.precisionBits)
                weights[out * kernelSize + i] = Int32(scaled < 0 ? scaled - 0.5 : scaled + 0.5)
            }
            first.append(low)
            count.append(high - low)
        }
        (self.first, self.count, self.weights) = (first, count, weights)
    }

    /// One output value: Σ input·weight in fixed point, rounded, clipped to a byte.
    @inline(__always)
    func apply(at out: Int, _ input: (Int) -> UInt8) -> UInt8 {
        var sum = Int64(1) << (Self.precisionBits - 1)
        for i in 0..<count[out] { sum += Int64(input(first[out] + i)) * Int64(weights[out * kernelSize + i]) }
        return UInt8(clamping: sum >> Self.precisionBits)
    }
}
