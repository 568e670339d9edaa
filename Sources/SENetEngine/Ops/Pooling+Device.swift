import OpenCLKit
import SENetCore

/// Global average pool (`pooling.cl`): [rows, plane] → [rows], fp32 accumulation. GPUs reduce
/// each row in a work-group; CPUs sum a row per work-item (no barrier, no local memory).
extension GlobalAveragePool: DeviceLowerable {
    public static let workGroupSize = 64

    /// How a row is reduced.
    public enum Variant: String, CaseIterable, Sendable {
        /// One work-group per row, local-memory tree (`global_avg_pool`).
        case workGroup = "global_avg_pool"
        /// One work-item per row, vector loads (`global_avg_pool_rows`).
        case rows = "global_avg_pool_rows"

        /// The variant of a kernel family.
        public static func of(_ family: KernelFamily) -> Variant { family == .cpu ? .rows : .workGroup }
    }

    public func makeDeviceOp(_ b: DeviceBinding) throws -> DeviceOp {
        let s = inputShape
        return try DeviceOp([
            Self.launch(
                runtime: b.runtime, rows: s[0] * s[1], plane: s[2] * s[3], input: b.inputs[0], output: b.output,
                variant: .of(b.family), types: b.types)
        ])
    }

    /// The pooling launch over `rows` planes of `plane` values.
    static func launch(
        runtime: DeviceRuntime, rows: Int, plane: Int, input: CLBuffer, output: CLBuffer, variant: Variant,
        types: KernelTypes = KernelTypes()
    ) throws -> KernelLaunch {
        let kernel = try runtime.kernel(
            variant.rawValue, file: "pooling.cl", defines: ["GAP_WG": workGroupSize], types: types)
        switch variant {
        case .workGroup:
            return try KernelLaunch(
                kernel, [.buffer(input), .buffer(output), .int(plane)], global: [rows * workGroupSize], local: [workGroupSize])
        case .rows:
            return try KernelLaunch(
                kernel, [.buffer(input), .buffer(output), .int(plane), .int(rows)], global: [runtime.roundedUp(rows)],
                local: [runtime.independentWorkGroupSize])
        }
    }
}

/// Max pooling (`pooling.cl`) over [rows, H, W]; the output size comes from the host (ceil mode
/// included).
extension MaxPool2d: DeviceLowerable {
    public func makeDeviceOp(_ b: DeviceBinding) throws -> DeviceOp {
        try DeviceOp([windowLaunch("max_pool2d", b, kernel: kernel, stride: stride, padding: padding)])
    }
}

/// Average pooling (`pooling.cl`), padding and positions past the edge not counted.
extension AvgPool2d: DeviceLowerable {
    public func makeDeviceOp(_ b: DeviceBinding) throws -> DeviceOp {
        try DeviceOp([windowLaunch("avg_pool2d", b, kernel: window.kernel, stride: window.stride, padding: window.padding)])
    }
}

/// One work-item per output value of a pooling window over [rows, H, W].
private func windowLaunch(_ name: String, _ b: DeviceBinding, kernel size: Int, stride: Int, padding: Int) throws
    -> KernelLaunch
{
    let s = b.inputValues[0].shape
    let (oh, ow) = (b.outputValue.shape[2], b.outputValue.shape[3])
    let kernel = try b.runtime.kernel(
        name, file: "pooling.cl", defines: ["GAP_WG": GlobalAveragePool.workGroupSize], types: b.types)
    return try KernelLaunch(
        kernel, [.buffer(b.inputs[0]), .buffer(b.output)] + [s[2], s[3], oh, ow, size, stride, padding].map { .int($0) },
        global: [b.runtime.roundedUp(ow), oh, s[0] * s[1]], local: [b.runtime.independentWorkGroupSize, 1, 1])
}
