/// Shape and hyper-parameters of one convolution.
public struct ConvGeometry: Equatable, Sendable {
    public var batch, inChannels, height, width: Int
    public var outChannels, kernelHeight, kernelWidth: Int
    public var stride = 1, padding = 0, groups = 1

    public init(
        batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int,
        kernel: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1
    ) {
        (self.batch, self.inChannels, self.height, self.width) = (batch, inChannels, height, width)
        (self.outChannels, kernelHeight, kernelWidth) = (outChannels, kernel, kernel)
        (self.stride, self.padding, self.groups) = (stride, padding, groups)
    }

    public var outHeight: Int { windowOutputSize(input: height, kernel: kernelHeight, stride: stride, padding: padding) }
    public var outWidth: Int { windowOutputSize(input: width, kernel: kernelWidth, stride: stride, padding: padding) }
    public var inputShape: [Int] { [batch, inChannels, height, width] }
    public var weightShape: [Int] { [outChannels, inChannels / groups, kernelHeight, kernelWidth] }
    public var outputShape: [Int] { [batch, outChannels, outHeight, outWidth] }
    /// Multiply-accumulates of the whole convolution.
    public var macs: Int { outputShape.reduce(1, *) * (inChannels / groups) * kernelHeight * kernelWidth }
}
