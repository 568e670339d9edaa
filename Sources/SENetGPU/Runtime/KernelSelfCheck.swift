import Foundation

/// Runs kernels on the device against the CPU reference on random inputs with awkward shapes.
/// `senet-gpu selfcheck` prints the standard set; the tests call the same checks on more shapes.
public enum KernelSelfCheck {
    /// One kernel on one shape.
    public struct Result: Sendable {
        public let kernel: String
        public let shape: String
        public let comparison: Comparison
        public let tolerance: Float
        public var passed: Bool { comparison.passes(tolerance: tolerance) }
    }

    /// fp32 tolerance on the relative error of a single kernel.
    public static let tolerance: Float = 1e-5

    /// The standard set: every kernel, shapes chosen to hit edge cases (odd sizes, channel counts
    /// that are not multiples of 4 or 16, stride 2, groups, batch > 1, ceil mode).
    public static func run(on runtime: DeviceRuntime) throws -> [Result] {
        let convs: [(ConvGeometry, Bool)] = [
            (
                ConvGeometry(batch: 2, inChannels: 3, height: 23, width: 17, outChannels: 10, kernel: 7, stride: 2, padding: 3),
                true
            ),
            (ConvGeometry(batch: 1, inChannels: 13, height: 9, width: 11, outChannels: 18, kernel: 3, padding: 1), false),
            (ConvGeometry(batch: 3, inChannels: 20, height: 8, width: 8, outChannels: 7, kernel: 1, stride: 2), true),
            (
                ConvGeometry(
                    batch: 1, inChannels: 12, height: 7, width: 5, outChannels: 6, kernel: 3, stride: 2, padding: 1, groups: 3),
                false
            ),
        ]
        var results = try convs.enumerated().map { try conv(on: runtime, $1.0, relu: $1.1, seed: UInt64(100 + $0)) }
        let tilings = [ConvTiling(channels: 16, pixels: 16, im2col: true), ConvTiling(channels: 4, pixels: 8)]
        for (index, (g, relu)) in convs.enumerated() where g.groups == 1 {
            for tiling in tilings {
                results.append(try tiledConv(on: runtime, g, tiling: tiling, relu: relu, seed: UInt64(150 + index)))
            }
        }
        for (index, shape) in [[2, 37, 56, 56], [1, 5, 7, 3], [3, 17, 1, 1]].enumerated() {
            results.append(try globalAveragePool(on: runtime, shape: shape, seed: UInt64(200 + index)))
        }
        results.append(try channelScale(on: runtime, shape: [2, 19, 7, 5], fused: false, seed: 300))
        results.append(try channelScale(on: runtime, shape: [3, 6, 13, 11], fused: true, seed: 301))
        results.append(try maxPool(on: runtime, shape: [2, 3, 15, 15], padding: 1, ceilMode: false, seed: 400))
        results.append(try maxPool(on: runtime, shape: [1, 5, 112, 111], padding: 0, ceilMode: true, seed: 401))
        results.append(try maxPool(on: runtime, shape: [1, 2, 8, 9], padding: 0, ceilMode: true, seed: 402))
        return results
    }

    /// `conv2d_direct` (bias, optional ReLU) against `Reference.conv2d`.
    public static func conv(on runtime: DeviceRuntime, _ g: ConvGeometry, relu: Bool, seed: UInt64) throws -> Result {
        let input = Tensor.random(shape: g.inputShape, seed: seed)
        let weight = Tensor.random(shape: g.weightShape, seed: seed &+ 1)
        let bias = Tensor.random(shape: [g.outChannels], seed: seed &+ 2)
        var expected = Reference.conv2d(input, weight: weight, bias: bias, stride: g.stride, padding: g.padding, groups: g.groups)
        if relu { expected = Reference.relu(expected) }
        let output = try runtime.buffer(count: expected.count)
        let op = try DirectConv2dOp(
            runtime: runtime, geometry: g, input: runtime.upload(input), weight: runtime.upload(weight),
            bias: runtime.upload(bias), output: output, relu: relu)
        let shape = "\(g.inputShape) k\(g.kernelHeight) s\(g.stride) p\(g.padding) g\(g.groups)\(relu ? " relu" : "")"
        return try finish(runtime, op, output, expected, kernel: "conv2d_direct", shape: shape)
    }

    /// The register-tiled convolutions (`conv_tiled.cl`: GEMM, strided 1×1, tiled, im2col)
    /// against `Reference.conv2d`, with one tiling.
    public static func tiledConv(
        on runtime: DeviceRuntime, _ g: ConvGeometry, tiling: ConvTiling, relu: Bool, seed: UInt64
    ) throws -> Result {
        let input = Tensor.random(shape: g.inputShape, seed: seed)
        let weight = Tensor.random(shape: g.weightShape, seed: seed &+ 1)
        let bias = Tensor.random(shape: [g.outChannels], seed: seed &+ 2)
        var expected = Reference.conv2d(input, weight: weight, bias: bias, stride: g.stride, padding: g.padding)
        if relu { expected = Reference.relu(expected) }
        let output = try runtime.buffer(count: expected.count)
        let scratchCount = TiledConv2dOp.scratchCount(g)
        let op = try TiledConv2dOp(
            runtime: runtime, geometry: g, tiling: tiling, input: runtime.upload(input),
            weightT: runtime.upload(ConvTiling.transposeWeights(weight)), bias: runtime.upload(bias), output: output, relu: relu,
            scratch: scratchCount > 0 ? try runtime.buffer(count: scratchCount) : nil)
        let shape = "\(g.inputShape) k\(g.kernelHeight) s\(g.stride) p\(g.padding) \(tiling)"
        return try finish(runtime, op, output, expected, kernel: "conv_tiled", shape: shape)
    }

    /// `global_avg_pool` against `Reference.globalAveragePool`.
    public static func globalAveragePool(on runtime: DeviceRuntime, shape: [Int], seed: UInt64) throws -> Result {
        let input = Tensor.random(shape: shape, seed: seed)
        let expected = Reference.globalAveragePool(input)
        let output = try runtime.buffer(count: expected.count)
        let op = try GlobalAveragePoolOp(
            runtime: runtime, rows: shape[0] * shape[1], plane: shape[2] * shape[3], input: runtime.upload(input), output: output)
        return try finish(runtime, op, output, expected, kernel: "global_avg_pool", shape: "\(shape)")
    }

    /// `channel_scale` or, when `fused`, `channel_scale_add_relu` against the reference ops.
    public static func channelScale(on runtime: DeviceRuntime, shape: [Int], fused: Bool, seed: UInt64) throws -> Result {
        let input = Tensor.random(shape: shape, seed: seed)
        let scale = Tensor.random(shape: [shape[0], shape[1]], seed: seed &+ 1, in: 0...1)
        let shortcut = Tensor.random(shape: shape, seed: seed &+ 2)
        var expected = Reference.channelScale(input, scale: scale)
        if fused { expected = Reference.relu(Reference.add(expected, shortcut)) }
        let output = try runtime.buffer(count: expected.count)
        let op = try ChannelScaleOp(
            runtime: runtime, rows: shape[0] * shape[1], plane: shape[2] * shape[3], input: runtime.upload(input),
            scale: runtime.upload(scale), shortcut: fused ? runtime.upload(shortcut) : nil, output: output)
        return try finish(
            runtime, op, output, expected, kernel: fused ? "channel_scale_add_relu" : "channel_scale", shape: "\(shape)")
    }

    /// `max_pool2d` (3×3, stride 2) against `Reference.maxPool2d`.
    public static func maxPool(on runtime: DeviceRuntime, shape: [Int], padding: Int, ceilMode: Bool, seed: UInt64) throws
        -> Result
    {
        let input = Tensor.random(shape: shape, seed: seed)
        let expected = Reference.maxPool2d(input, kernel: 3, stride: 2, padding: padding, ceilMode: ceilMode)
        let output = try runtime.buffer(count: expected.count)
        let op = try MaxPool2dOp(
            runtime: runtime, rows: shape[0] * shape[1], height: shape[2], width: shape[3], kernelSize: 3, stride: 2,
            padding: padding, ceilMode: ceilMode, input: runtime.upload(input), output: output)
        return try finish(
            runtime, op, output, expected, kernel: "max_pool2d", shape: "\(shape) k3 s2 p\(padding)\(ceilMode ? " ceil" : "")")
    }

    private static func finish(
        _ runtime: DeviceRuntime, _ op: DeviceOp, _ output: CLBuffer, _ expected: Tensor, kernel: String, shape: String
    ) throws -> Result {
        try op.enqueue(on: runtime.queue, profile: false)
        let actual = try runtime.download(output, shape: expected.shape)
        return Result(
            kernel: kernel, shape: shape, comparison: Comparison(actual: actual, expected: expected), tolerance: tolerance)
    }
}
