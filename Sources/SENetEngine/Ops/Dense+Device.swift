import OpenCLKit
import SENetCore

/// Fully connected layer with its activation (`head.cl`): one work-item per (output, image).
/// The CPU family runs one work-item per output; the GPU family one work-group per output
/// (`linear_wg`), reducing the dot product in local memory.
extension Linear: DeviceLowerable {
    public func makeDeviceOp(_ b: DeviceBinding) throws -> DeviceOp {
        let name = b.family == .cpu ? "linear" : "linear_wg"
        let kernel = try b.runtime.kernel(
            name, file: "head.cl", defines: ["SOFTMAX_WG": Softmax.workGroupSize], types: b.types)
        let code: Int
        switch activation {
        case .none: code = 0
        case .relu: code = 1
        case .sigmoid: code = 2
        }
        let arguments: [KernelArgument] =
            [.buffer(b.inputs[0]), .buffer(b.weights[0]), .buffer(b.weights[1]), .buffer(b.output)]
            + [inFeatures, outFeatures, code].map { .int($0) }
        if b.family == .gpu {
            let group = Softmax.workGroupSize
            return try DeviceOp([KernelLaunch(kernel, arguments, global: [outFeatures * group, batch], local: [group, 1])])
        }
        return try DeviceOp([
            KernelLaunch(
                kernel, arguments, global: [b.runtime.roundedUp(outFeatures), batch],
                local: [b.runtime.independentWorkGroupSize, 1])
        ])
    }
}

/// Softmax over each row of [N, K] (`head.cl`): one work-group per row.
extension Softmax: DeviceLowerable {
    public static let workGroupSize = 64

    public func makeDeviceOp(_ b: DeviceBinding) throws -> DeviceOp {
        let kernel = try b.runtime.kernel(
            "softmax_rows", file: "head.cl", defines: ["SOFTMAX_WG": Self.workGroupSize], types: b.types)
        return try DeviceOp([
            KernelLaunch(
                kernel, [.buffer(b.inputs[0]), .buffer(b.output), .int(shape[1])], global: [shape[0] * Self.workGroupSize],
                local: [Self.workGroupSize])
        ])
    }
}

/// relu(x · scale + shortcut) (`scale.cl`), 16 values per work-item; may run in place.
extension ScaleAddReLU: DeviceLowerable {
    public var writesInPlace: Bool { true }

    public func makeDeviceOp(_ b: DeviceBinding) throws -> DeviceOp {
        let kernel = try b.runtime.kernel("channel_scale_add_relu", file: "scale.cl", types: b.types)
        let plane = shape[2] * shape[3]
        let total = shape.reduce(1, *)
        return try DeviceOp([
            KernelLaunch(
                kernel,
                [.buffer(b.inputs[0]), .buffer(b.inputs[1]), .buffer(b.inputs[2]), .buffer(b.output), .int(plane), .int(total)],
                global: [b.runtime.roundedUp((total + 15) / 16)], local: [b.runtime.independentWorkGroupSize])
        ])
    }
}
