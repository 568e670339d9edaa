import OpenCLKit
import SENetCore

/// Global average pool (`pooling.cl`): [rows, plane] → [rows], fp32 accumulation, one
/// work-group per row.
extension GlobalAveragePool: DeviceLowerable {
    public static let workGroupSize = 64

    public func makeDeviceOp(_ b: DeviceBinding) throws -> DeviceOp {
        let s = inputShape
        return try DeviceOp([
            Self.launch(runtime: b.runtime, rows: s[0] * s[1], plane: s[2] * s[3], input: b.inputs[0], output: b.output)
        ])
    }

    /// The pooling launch over `rows` planes of `plane` values.
    static func launch(runtime: DeviceRuntime, rows: Int, plane: Int, input: CLBuffer, output: CLBuffer) throws -> KernelLaunch {
        let kernel = try runtime.kernel("global_avg_pool", file: "pooling.cl", defines: ["GAP_WG": workGroupSize])
        return try KernelLaunch(
            kernel, [.buffer(input), .buffer(output), .int(plane)], global: [rows * workGroupSize], local: [workGroupSize])
    }
}

/// Max pooling (`pooling.cl`) over [rows, H, W]; the output size comes from the host (ceil mode
/// included).
extension MaxPool2d: DeviceLowerable {
    public func makeDeviceOp(_ b: DeviceBinding) throws -> DeviceOp {
        let s = inputShape
        let (oh, ow) = (b.outputValue.shape[2], b.outputValue.shape[3])
        let kernel = try b.runtime.kernel("max_pool2d", file: "pooling.cl", defines: ["GAP_WG": GlobalAveragePool.workGroupSize])
        return try DeviceOp([
            KernelLaunch(
                kernel,
                [.buffer(b.inputs[0]), .buffer(b.output)] + [s[2], s[3], oh, ow, self.kernel, stride, padding].map { .int($0) },
                global: [oh * ow, s[0] * s[1]])
        ])
    }
}
