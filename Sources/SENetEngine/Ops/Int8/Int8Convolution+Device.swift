import OpenCLKit
import SENetCore

extension Int8Convolution: DeviceLowerable {
    /// The codes packed for `conv_int8`, the multipliers and the biases.
    public func deviceParameters(_ context: LoweringContext) -> [Tensor] {
        [Int8KernelConvolution.pack(weightCodes, geometry: geometry), multiplier, bias]
    }
    public func deviceParameterShapes(_ context: LoweringContext) -> [[Int]] {
        [[Int8KernelConvolution.packedCount(geometry)], multiplier.shape, bias.shape]
    }
    public func deviceParameterElements(_ context: LoweringContext) -> [ElementType]? { [.int8, .float32, .float32] }
    public func parameterLayout(_ context: LoweringContext) -> String { "c4oc\(Int8KernelConvolution.channelBlock(geometry))" }

    /// The int8 algorithm this op runs with on `device`, if any.
    func algorithmChoice(_ device: CLDevice) -> Int8ConvAlgorithmChoice? {
        Int8ConvAlgorithms.select(geometry, device: device).choice
    }

    public func unsupportedReason(inputs: [ValueInfo], output: ValueInfo, device: CLDevice) -> String? {
        guard inputs[0].elementType == .int8, inputs[0].layout == .nc4hw4, output.elementType == .float32 else {
            return "an int8 convolution reads nc4hw4 int8 codes and writes fp32"
        }
        let (choice, passedOver) = Int8ConvAlgorithms.select(geometry, device: device)
        return choice == nil ? "no int8 algorithm runs it (\(passedOver.joined(separator: "; ")))" : nil
    }

    public func makeDeviceOp(_ b: DeviceBinding) throws -> DeviceOp {
        guard let choice = algorithmChoice(b.runtime.device) else { preconditionFailure("\(name) has no int8 algorithm") }
        return try choice.algorithm.make(b, op: self)
    }
}

/// fp32 feature maps to `nc4hw4` int8 codes (`quantize_nc4hw4`), a pixel's four channels per work-item.
extension Quantize: DeviceLowerable {
    public func unsupportedReason(inputs: [ValueInfo], output: ValueInfo, device: CLDevice) -> String? {
        guard inputs[0].elementType == .float32, inputs[0].layout != .nc4hw4, output.elementType == .int8,
            output.layout == .nc4hw4
        else { return "quantize reads an fp32 map and writes nc4hw4 int8 codes" }
        return nil
    }

    public func makeDeviceOp(_ b: DeviceBinding) throws -> DeviceOp {
        let kernel = try b.runtime.kernel("quantize_nc4hw4", file: "conv_int8.cl")
        let plane = shape[2] * shape[3]
        return try DeviceOp([
            KernelLaunch(
                kernel, [.buffer(b.inputs[0]), .buffer(b.output), .float(scale), .int(shape[1]), .int(plane)],
                global: [b.runtime.roundedUp(plane), (shape[1] + 3) / 4, shape[0]],
                local: [b.runtime.independentWorkGroupSize, 1, 1])
        ])
    }
}
