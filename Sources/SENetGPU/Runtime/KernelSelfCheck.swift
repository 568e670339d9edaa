import Foundation

/// Runs every kernel once on the device against the CPU reference, on random inputs with
/// awkward shapes. `senet-gpu selfcheck` prints it; a driver that computes wrong fails here.
public enum KernelSelfCheck {
    /// One kernel on one shape.
    public struct Result: Sendable {
        public let kernel: String
        public let shape: String
        public let comparison: Comparison
        public let tolerance: Float
        public var passed: Bool { comparison.passes(tolerance: tolerance) }
    }

    /// fp32 tolerance on the relative error for single kernels.
    public static let tolerance: Float = 1e-5

    public static func run(on runtime: DeviceRuntime) throws -> [Result] {
        var results: [Result] = []
        let convCases: [(ConvGeometry, Bool)] = [
            (ConvGeometry(batch: 2, inChannels: 3, height: 23, width: 17, outChannels: 10, kernel: 7, stride: 2, padding: 3), true),
            (ConvGeometry(batch: 1, inChannels: 13, height: 9, width: 11, outChannels: 18, kernel: 3, stride: 1, padding: 1), false),
            (ConvGeometry(batch: 3, inChannels: 20, height: 8, width: 8, outChannels: 7, kernel: 1, stride: 2), true),
            (ConvGeometry(batch: 1, inChannels: 12, height: 7, width: 5, outChannels: 6, kernel: 3, stride: 2, padding: 1, groups: 3), false),
        ]
        for (index, (g, relu)) in convCases.enumerated() {
            let seed = UInt64(100 + index * 3)
            let input = Tensor.random(shape: g.inputShape, seed: seed)
            let weight = Tensor.random(shape: g.weightShape, seed: seed + 1)
            let bias = Tensor.random(shape: [g.outChannels], seed: seed + 2)
            var expected = Reference.conv2d(input, weight: weight, bias: bias, stride: g.stride, padding: g.padding, groups: g.groups)
            if relu { expected = Reference.relu(expected) }
            let output = try runtime.buffer(count: expected.count)
            let op = try DirectConv2dOp(runtime: runtime, geometry: g, input: runtime.upload(input),
                                        weight: runtime.upload(weight), bias: runtime.upload(bias), output: output, relu: relu)
            try op.enqueue(on: runtime.queue, profile: false)
            let actual = try runtime.download(output, shape: expected.shape)
            let shape = "\(g.inputShape) k\(g.kernelHeight) s\(g.stride) p\(g.padding) g\(g.groups)\(relu ? " relu" : "")"
            results.append(Result(kernel: "conv2d_direct", shape: shape, comparison: Comparison(actual: actual, expected: expected), tolerance: tolerance))
        }

        for (index, shape) in [[2, 37, 56, 56], [1, 5, 7, 3], [3, 17, 1, 1]].enumerated() {
            let input = Tensor.random(shape: shape, seed: UInt64(200 + index))
            let expected = Reference.globalAveragePool(input)
            let output = try runtime.buffer(count: expected.count)
            let rows = shape[0] * shape[1]
            try GlobalAveragePoolOp(runtime: runtime, rows: rows, plane: shape[2] * shape[3], input: runtime.upload(input), output: output)
                .enqueue(on: runtime.queue, profile: false)
            let actual = try runtime.download(output, shape: expected.shape)
            results.append(Result(kernel: "global_avg_pool", shape: "\(shape)", comparison: Comparison(actual: actual, expected: expected), tolerance: tolerance))
        }

        for (index, (shape, fused)) in [([2, 19, 7, 5], false), ([3, 6, 13, 11], true)].enumerated() {
            let input = Tensor.random(shape: shape, seed: UInt64(300 + index))
            let scale = Tensor.random(shape: [shape[0], shape[1]], seed: UInt64(310 + index), in: 0...1)
            let shortcut = Tensor.random(shape: shape, seed: UInt64(320 + index))
            var expected = Reference.channelScale(input, scale: scale)
            if fused { expected = Reference.relu(Reference.add(expected, shortcut)) }
            let output = try runtime.buffer(count: expected.count)
            try ChannelScaleOp(runtime: runtime, rows: shape[0] * shape[1], plane: shape[2] * shape[3], input: runtime.upload(input),
                               scale: runtime.upload(scale), shortcut: fused ? runtime.upload(shortcut) : nil, output: output)
                .enqueue(on: runtime.queue, profile: false)
            let actual = try runtime.download(output, shape: expected.shape)
            results.append(Result(kernel: fused ? "channel_scale_add_relu" : "channel_scale", shape: "\(shape)",
                                  comparison: Comparison(actual: actual, expected: expected), tolerance: tolerance))
        }

        for (index, (shape, padding, ceil)) in [([2, 3, 15, 15], 1, false), ([1, 5, 112, 111], 0, true), ([1, 2, 8, 9], 0, true)].enumerated() {
            let input = Tensor.random(shape: shape, seed: UInt64(400 + index))
            let expected = Reference.maxPool2d(input, kernel: 3, stride: 2, padding: padding, ceilMode: ceil)
            let output = try runtime.buffer(count: expected.count)
            try MaxPool2dOp(runtime: runtime, rows: shape[0] * shape[1], height: shape[2], width: shape[3], kernelSize: 3, stride: 2,
                            padding: padding, ceilMode: ceil, input: runtime.upload(input), output: output)
                .enqueue(on: runtime.queue, profile: false)
            let actual = try runtime.download(output, shape: expected.shape)
            results.append(Result(kernel: "max_pool2d", shape: "\(shape) k3 s2 p\(padding)\(ceil ? " ceil" : "")",
                                  comparison: Comparison(actual: actual, expected: expected), tolerance: tolerance))
        }
        return results
    }
}
