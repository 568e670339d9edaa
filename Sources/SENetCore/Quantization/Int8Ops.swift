/// A feature map turned into int8 codes for the int8 ops that read it: code = round(x / scale)
/// (half away from zero) clamped to ±127. [N, C] inputs (the classifier's) become [N, C, 1, 1].
/// The reference's output holds the codes as floats; the device stores them as `nc4hw4` int8.
public struct Quantize: GraphOp {
    public static let kind = OpKind(rawValue: "quantize")
    public let name: String
    public let scale: Float
    /// [N, C, H, W] of the output.
    public let shape: [Int]

    public init(name: String, scale: Float, shape: [Int]) { (self.name, self.scale, self.shape) = (name, scale, shape) }

    public func reference(_ inputs: [Tensor]) -> Tensor {
        Tensor(shape: shape, data: inputs[0].data.map { Self.code($0, scale: scale) })
    }

    /// `x`'s code on the grid of `scale`.
    public static func code(_ x: Float, scale: Float) -> Float { min(max((x / scale).rounded(), -127), 127) }
}

/// A convolution (or the classifier, as a 1×1 convolution over [N, C, 1, 1]) on int8 codes with
/// exact integer sums: y = Σ x_code · w_code × multiplier[oc] + bias[oc], then the optional
/// ReLU, where multiplier = input scale × the output channel's weight scale. What
/// `Int8Simulation` computes, with the scales applied once after the sum.
public struct Int8Convolution: GraphOp {
    public static let kind = OpKind(rawValue: "conv_int8")
    public let name: String
    /// The convolution's shape; the classifier's is 1×1 on a 1×1 map.
    public let geometry: ConvGeometry
    /// [OC, IC / groups, K, K] codes in ±127, as floats.
    public let weightCodes: Tensor
    /// [OC]: input scale × weight scale.
    public let multiplier: Tensor
    /// [OC], fp32.
    public let bias: Tensor
    public let relu: Bool
    /// The output's shape: the convolution's, or [N, OC] for the classifier.
    public let outputShape: [Int]

    public init(
        name: String, geometry: ConvGeometry, weightCodes: Tensor, multiplier: Tensor, bias: Tensor, relu: Bool,
        outputShape: [Int]
    ) {
        (self.name, self.geometry, self.weightCodes, self.multiplier) = (name, geometry, weightCodes, multiplier)
        (self.bias, self.relu, self.outputShape) = (bias, relu, outputShape)
    }

    /// The int8 form of `weight` [OC, …] with one scale per output channel, applied to inputs
    /// of `inputScale`.
    public init(
        name: String, geometry: ConvGeometry, weight: Tensor, bias: Tensor, relu: Bool, weightScales: [Float],
        inputScale: Float, outputShape: [Int]
    ) {
        let perChannel = weight.count / weight.shape[0]
        let codes = weight.data.indices.map { Quantize.code(weight.data[$0], scale: weightScales[$0 / perChannel]) }
        self.init(
            name: name, geometry: geometry, weightCodes: Tensor(shape: geometry.weightShape, data: codes),
            multiplier: Tensor(shape: [weightScales.count], data: weightScales.map { $0 * inputScale }), bias: bias,
            relu: relu, outputShape: outputShape)
    }

    public var parameters: [Tensor] { [weightCodes, multiplier, bias] }
    public var macs: Int { geometry.macs }

    public func reference(_ inputs: [Tensor]) -> Tensor {
        let g = geometry
        let sums = Reference.conv2d(
            inputs[0], weight: weightCodes, bias: Tensor(shape: [g.outChannels], repeating: 0), stride: g.stride,
            padding: g.padding, groups: g.groups)
        let plane = g.outHeight * g.outWidth
        var data = sums.data
        for index in data.indices {
            let channel = index / plane % g.outChannels
            let y = data[index] * multiplier.data[channel] + bias.data[channel]
            data[index] = relu ? max(y, 0) : y
        }
        return Tensor(shape: outputShape, data: data)
    }
}
