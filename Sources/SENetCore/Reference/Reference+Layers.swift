extension Reference {
    /// A folded conv layer with its optional ReLU.
    public static func convolution(_ x: Tensor, _ layer: ConvLayer) -> Tensor {
        let y = conv2d(
            x, weight: layer.weight, bias: layer.bias, stride: layer.stride, padding: layer.padding, groups: layer.groups)
        return layer.relu ? relu(y) : y
    }
}
