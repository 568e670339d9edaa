import OpenCLKit
import SENetCore

/// fp16 ↔ fp32 storage casts (`cast.cl`), 16 values per work-item.
extension Cast: DeviceLowerable {
    public func unsupportedReason(inputs: [ValueInfo], output: ValueInfo, device: CLDevice) -> String? {
        let pair = Set([inputs[0].elementType, output.elementType])
        guard pair == [.float16, .float32], output.elementType == to, shape.count == 4 else {
            return "a cast runs between an fp16 and an fp32 feature map only"
        }
        return nil
    }

    public func makeDeviceOp(_ b: DeviceBinding) throws -> DeviceOp {
        let kernel = try b.runtime.kernel(
            to == .float32 ? "half_to_float" : "float_to_half", file: "cast.cl",
            types: KernelTypes(activations: .float16, weights: .float32))
        let total = shape.reduce(1, *)
        return try DeviceOp([
            KernelLaunch(
                kernel, [.buffer(b.inputs[0]), .buffer(b.output), .int(total)],
                global: [b.runtime.roundedUp((total + 15) / 16)], local: [b.runtime.independentWorkGroupSize])
        ])
    }
}
