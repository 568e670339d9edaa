import Foundation
import OpenCLKit
import SENetCore
import SENetImages

/// Runs every kernel the plans can use on the device against the CPU reference, on random
/// inputs with awkward shapes, through the same device ops the plans build. `senet-gpu
/// selfcheck` prints the standard set; the tests call the same checks on more shapes.
public enum KernelSelfCheck {
    /// One op on one shape.
    public struct Result: Sendable {
        /// The kernels the op launched, `+`-joined (`im2col+conv1x1_gemm`).
        public let kernel: String
        public let shape: String
        public let comparison: Comparison
        public let tolerance: Float
        public var passed: Bool { comparison.passes(tolerance: tolerance) }
    }

    /// fp32 tolerance on the relative error of a single kernel.
    public static let tolerance: Float = 1e-5

    /// Tolerance of one kernel in `precision` against the fp32 reference on the same
    /// half-rounded inputs: the output's rounding (4.9e-4 relative) and the weights' (about as
    /// much in a long dot product) fit 2e-3; half arithmetic rounds products and partial sums
    /// too: 1e-2.
    public static func tolerance(_ precision: Precision, halfArithmetic: Bool = false) -> Float {
        precision == .fp32 ? tolerance : (halfArithmetic ? 1e-2 : 2e-3)
    }

    /// The standard set: every kernel, and every registered convolution algorithm with its own
    /// self-check tilings, on shapes chosen to hit edge cases (odd sizes, channel counts that are
    /// not multiples of 4 or 16, stride 2, batch > 1, ceil mode, in-place runs). In fp16, every
    /// kernel with half storage, and the half-arithmetic convolutions where the device has fp16.
    /// The int8 kernels run in the fp32 set (they read no half); `.int8` runs only them.
    public static func run(on runtime: DeviceRuntime, precision: Precision = .fp32) throws -> [Result] {
        if precision == .int8 { return try int8(on: runtime) }
        let convs: [(ConvGeometry, Bool)] = [
            (
                ConvGeometry(batch: 2, inChannels: 3, height: 23, width: 17, outChannels: 10, kernel: 7, stride: 2, padding: 3),
                true
            ),
            (ConvGeometry(batch: 1, inChannels: 13, height: 9, width: 11, outChannels: 18, kernel: 3, padding: 1), false),
            (ConvGeometry(batch: 3, inChannels: 20, height: 8, width: 8, outChannels: 7, kernel: 1, stride: 2), true),
            (ConvGeometry(batch: 2, inChannels: 19, height: 5, width: 7, outChannels: 21, kernel: 1), true),
        ]
        var results: [Result] = []
        for (index, (g, relu)) in convs.enumerated() {
            results += try algorithms(on: runtime, g, relu: relu, seed: UInt64(150 + index), precision: precision)
        }
        // Grouped (SE-ResNeXt's 3×3): 4 channels per group, and 3 out of 2 in with stride 2.
        let grouped = [
            ConvGeometry(batch: 2, inChannels: 32, height: 9, width: 11, outChannels: 32, kernel: 3, padding: 1, groups: 8),
            ConvGeometry(
                batch: 1, inChannels: 24, height: 13, width: 13, outChannels: 36, kernel: 3, stride: 2, padding: 1, groups: 12),
        ]
        for (index, g) in grouped.enumerated() {
            for family in KernelFamily.allCases {
                results.append(
                    try groupedConvolution(on: runtime, g, family: family, seed: UInt64(190 + index), precision: precision))
            }
        }
        // Grouped layers of 8 and 16 channels per group through the channel-vector kernel (the
        // CPU default on CPUs; forced, so GPU-type devices such as Oclgrind run it too): vectors
        // inside one group, at stride 1 and 2.
        let channelVectorGrouped = [
            (
                ConvGeometry(batch: 2, inChannels: 48, height: 9, width: 11, outChannels: 48, kernel: 3, padding: 1, groups: 3),
                ConvTiling(vectors: 2, vectorWidth: 8, pixels: 4, localSize: 2)
            ),
            (
                ConvGeometry(
                    batch: 1, inChannels: 24, height: 13, width: 13, outChannels: 24, kernel: 3, stride: 2, padding: 1, groups: 3),
                ConvTiling(vectors: 1, vectorWidth: 8, pixels: 6, localSize: nil)
            ),
        ]
        for (index, (g, tiling)) in channelVectorGrouped.enumerated() {
            if let result = try convolution(
                on: runtime, g, algorithm: ChannelVectorConvolution(), tiling: .cpu(tiling), relu: index == 0,
                seed: UInt64(195 + index), precision: precision)
            {
                results.append(result)
            }
        }
        for (index, shape) in [[2, 37, 56, 56], [1, 5, 7, 3], [3, 17, 1, 1]].enumerated() {
            for variant in GlobalAveragePool.Variant.allCases {
                results.append(
                    try globalAveragePool(
                        on: runtime, shape: shape, variant: variant, seed: UInt64(200 + index), precision: precision))
            }
        }
        results.append(try scaleAddReLU(on: runtime, shape: [3, 6, 13, 11], inPlace: false, seed: 301, precision: precision))
        results.append(try scaleAddReLU(on: runtime, shape: [2, 19, 7, 5], inPlace: true, seed: 302, precision: precision))
        for (seed, shape, padding, ceil) in [
            (400, [2, 3, 15, 15], 1, false), (401, [1, 5, 112, 111], 0, true), (402, [1, 2, 8, 9], 0, true),
        ] {
            results.append(
                try maxPool(on: runtime, shape: shape, padding: padding, ceilMode: ceil, seed: UInt64(seed), precision: precision)
            )
        }
        // timm's avg_down shortcut: 2×2 stride 2 ceil mode on odd sizes (partial windows).
        for (seed, shape) in [(410, [2, 5, 9, 7]), (411, [1, 3, 8, 8])] {
            let window = PoolWindow(kernel: 2, stride: 2, padding: 0, ceilMode: true)
            results.append(try averagePool(on: runtime, shape: shape, window: window, seed: UInt64(seed), precision: precision))
        }
        for (index, activation) in [Activation.none, .relu, .sigmoid].enumerated() {
            for family in KernelFamily.allCases {
                results.append(
                    try linear(
                        on: runtime, batch: 3, in: 37, out: 11 + index, activation: activation, family: family,
                        seed: 500 + UInt64(index), precision: precision))
            }
        }
        results.append(try softmax(on: runtime, shape: [3, 1000], seed: 600))
        results.append(try softmax(on: runtime, shape: [2, 7], seed: 601))
        results.append(
            try preprocess(
                on: runtime, width: 61, height: 47, settings: Preprocessing(resize: 40, crop: 32), seed: 700, precision: precision
            ))
        if precision == .fp32 { results.append(try fmaPeak(on: runtime, width: 4, iterations: 37)) }
        // 231 values: 14 whole vectors of 16 and a tail of 7.
        for (seed, element) in [(800, ElementType.float32), (801, .float16)] {
            results.append(try cast(on: runtime, shape: [1, 3, 7, 11], to: element, seed: UInt64(seed)))
        }
        if precision == .fp32 { results += try int8(on: runtime) }
        return results
    }

    /// `half_to_float` or `float_to_half` (mixed-precision plans' casts) bit for bit against the
    /// host's conversion: exact widening, and rounding to nearest even (ties included).
    public static func cast(on runtime: DeviceRuntime, shape: [Int], to element: ElementType, seed: UInt64) throws -> Result {
        let from: ElementType = element == .float32 ? .float16 : .float32
        var values = Tensor.random(shape: shape, seed: seed, in: -300...300).data
        // Ties between two halves: 1 + 2⁻¹¹ rounds down to 1, 1 + 3·2⁻¹¹ up to 1 + 2⁻⁹.
        (values[0], values[1], values[values.count - 1]) = (1 + 0x1p-11, 1 + 3 * 0x1p-11, -65504)
        let input = Tensor(shape: shape, data: values).rounded(to: from)
        let output = try runtime.upload(Tensor(shape: shape, repeating: .nan), as: element)
        let op = Cast(name: "check", to: element, shape: shape)
        let deviceOp = try op.makeDeviceOp(
            DeviceBinding(
                context: LoweringContext(runtime: runtime), inputValues: [ValueInfo(name: "x", shape: shape, elementType: from)],
                outputValue: ValueInfo(name: "y", shape: shape, elementType: element),
                inputs: [try runtime.upload(input, as: from)], output: output, weights: [], scratch: nil))
        try deviceOp.enqueue(on: runtime.queue, profile: false)
        let actual = try runtime.download(output, shape: shape, as: element)
        return Result(
            kernel: deviceOp.launches.map(\.kernel.name).joined(separator: "+"), shape: "\(shape)",
            comparison: Comparison(actual: actual, expected: input.rounded(to: element)), tolerance: 0)
    }

    /// `bench`'s FMA-rate kernel against the same chains of fused multiply-adds on the host.
    public static func fmaPeak(on runtime: DeviceRuntime, width: Int, iterations: Int) throws -> Result {
        let items = 2 * runtime.independentWorkGroupSize
        let (op, out) = try DevicePeak.launch(runtime: runtime, width: width, items: items, iterations: iterations)
        try runtime.write(Tensor(shape: [items], repeating: .nan), to: out)
        try op.enqueue(on: runtime.queue, profile: false)
        let expected = Tensor(
            shape: [items], data: (0..<items).map { DevicePeak.expected(id: $0, width: width, iterations: iterations) })
        return Result(
            kernel: "fma_peak", shape: "\(items) items × \(width) lanes × \(iterations) steps",
            comparison: Comparison(actual: try runtime.download(out, shape: [items]), expected: expected), tolerance: tolerance)
    }

    /// A convolution with one tiling against `Reference.conv2d` (+ ReLU).
    public static func convolution(
        on runtime: DeviceRuntime, _ g: ConvGeometry, tiling: ConvTiling, relu: Bool, seed: UInt64, precision: Precision = .fp32
    ) throws -> Result {
        let layer = ConvLayer(
            name: "check", weight: Tensor.random(shape: g.weightShape, seed: seed &+ 1),
            bias: Tensor.random(shape: [g.outChannels], seed: seed &+ 2), stride: g.stride, padding: g.padding, relu: relu)
        let tuning = TuningTable(
            device: "", driver: "", engineVersion: "",
            entries: [ConvShapeKey(g, precision: precision): TunedConvolution(cpu: tiling)])
        let shape = "\(g.inputShape) k\(g.kernelHeight) s\(g.stride) p\(g.padding)\(relu ? " relu" : "") \(tiling)"
        return try check(
            Conv2d(layer: layer, geometry: g), [Tensor.random(shape: g.inputShape, seed: seed)], output: g.outputShape,
            on: runtime, shape: shape, tuning: tuning, precision: precision, halfArithmetic: tiling.halfArithmetic)
    }

    /// `conv_gemm` (and `conv_gemm_reduce` when K is split) with one tiling against
    /// `Reference.conv2d` (+ ReLU).
    public static func gpuConvolution(
        on runtime: DeviceRuntime, _ g: ConvGeometry, tiling: GPUConvTiling, relu: Bool, seed: UInt64,
        precision: Precision = .fp32
    ) throws -> Result {
        let layer = ConvLayer(
            name: "check", weight: Tensor.random(shape: g.weightShape, seed: seed &+ 1),
            bias: Tensor.random(shape: [g.outChannels], seed: seed &+ 2), stride: g.stride, padding: g.padding, relu: relu)
        let tuning = TuningTable(
            device: "", driver: "", engineVersion: "",
            entries: [ConvShapeKey(g, precision: precision, family: .gpu): TunedConvolution(gpu: tiling)])
        let shape = "\(g.inputShape) k\(g.kernelHeight) s\(g.stride) p\(g.padding)\(relu ? " relu" : "") \(tiling)"
        return try check(
            Conv2d(layer: layer, geometry: g), [Tensor.random(shape: g.inputShape, seed: seed)], output: g.outputShape,
            on: runtime, shape: shape, family: .gpu, tuning: tuning, precision: precision, halfArithmetic: tiling.halfArithmetic)
    }

    /// A grouped convolution (+ ReLU) with its default tiling in `family` against `Reference.conv2d`.
    public static func groupedConvolution(
        on runtime: DeviceRuntime, _ g: ConvGeometry, family: KernelFamily, seed: UInt64, precision: Precision = .fp32
    ) throws -> Result {
        let layer = ConvLayer(
            name: "check", weight: Tensor.random(shape: g.weightShape, seed: seed &+ 1),
            bias: Tensor.random(shape: [g.outChannels], seed: seed &+ 2), stride: g.stride, padding: g.padding, relu: true,
            groups: g.groups)
        let shape = "\(g.inputShape) k\(g.kernelHeight) s\(g.stride) groups \(g.groups) \(family) family"
        return try check(
            Conv2d(layer: layer, geometry: g), [Tensor.random(shape: g.inputShape, seed: seed)], output: g.outputShape,
            on: runtime, shape: shape, family: family, precision: precision)
    }

    /// `global_avg_pool` or `global_avg_pool_rows` against `Reference.globalAveragePool`.
    public static func globalAveragePool(
        on runtime: DeviceRuntime, shape: [Int], variant: GlobalAveragePool.Variant, seed: UInt64, precision: Precision = .fp32
    ) throws -> Result {
        let input = Tensor.random(shape: shape, seed: seed).rounded(to: precision.storage)
        let expected = Reference.globalAveragePool(input)
        let output = try runtime.upload(Tensor(shape: expected.shape, repeating: .nan))
        let launch = try GlobalAveragePool.launch(
            runtime: runtime, rows: shape[0] * shape[1], plane: shape[2] * shape[3],
            input: try runtime.upload(input, as: precision.storage), output: output, variant: variant,
            types: KernelTypes(precision))
        _ = try launch.enqueue(on: runtime.queue, profile: false)
        let actual = try runtime.download(output, shape: expected.shape)
        return Result(
            kernel: launch.kernel.name, shape: "\(shape)", comparison: Comparison(actual: actual, expected: expected),
            tolerance: tolerance(precision))
    }

    /// `channel_scale_add_relu`, into a separate buffer or over its first input.
    public static func scaleAddReLU(
        on runtime: DeviceRuntime, shape: [Int], inPlace: Bool, seed: UInt64, precision: Precision = .fp32
    ) throws -> Result {
        let inputs = [
            Tensor.random(shape: shape, seed: seed), Tensor.random(shape: [shape[0], shape[1]], seed: seed &+ 1, in: 0...1),
            Tensor.random(shape: shape, seed: seed &+ 2),
        ]
        return try check(
            ScaleAddReLU(name: "check", shape: shape), inputs, output: shape, on: runtime,
            shape: "\(shape)\(inPlace ? " in place" : "")", inPlace: inPlace, precision: precision)
    }

    /// `max_pool2d` (3×3, stride 2) against `Reference.maxPool2d`.
    public static func maxPool(
        on runtime: DeviceRuntime, shape: [Int], padding: Int, ceilMode: Bool, seed: UInt64, precision: Precision = .fp32
    ) throws -> Result {
        let window = PoolWindow(kernel: 3, stride: 2, padding: padding, ceilMode: ceilMode)
        let op = MaxPool2d(name: "check", kernel: 3, stride: 2, padding: padding, ceilMode: ceilMode, inputShape: shape)
        return try check(
            op, [Tensor.random(shape: shape, seed: seed)],
            output: [shape[0], shape[1], window.outputSize(shape[2]), window.outputSize(shape[3])], on: runtime,
            shape: "\(shape) k3 s2 p\(padding)\(ceilMode ? " ceil" : "")", precision: precision)
    }

    /// `avg_pool2d` against `Reference.averagePool2d`.
    public static func averagePool(
        on runtime: DeviceRuntime, shape: [Int], window: PoolWindow, seed: UInt64, precision: Precision = .fp32
    ) throws -> Result {
        let op = AvgPool2d(name: "check", window: window, inputShape: shape)
        let w = window
        return try check(
            op, [Tensor.random(shape: shape, seed: seed)],
            output: [shape[0], shape[1], w.outputSize(shape[2]), w.outputSize(shape[3])], on: runtime,
            shape: "\(shape) k\(w.kernel) s\(w.stride) p\(w.padding)\(w.ceilMode ? " ceil" : "")", precision: precision)
    }

    /// `linear` with each activation against `Reference.linear`.
    public static func linear(
        on runtime: DeviceRuntime, batch: Int, in features: Int, out classes: Int, activation: Activation,
        family: KernelFamily = .cpu, seed: UInt64, precision: Precision = .fp32
    ) throws -> Result {
        let op = Linear(
            name: "check", weight: Tensor.random(shape: [classes, features], seed: seed &+ 1),
            bias: Tensor.random(shape: [classes], seed: seed &+ 2), activation: activation, batch: batch)
        return try check(
            op, [Tensor.random(shape: [batch, features], seed: seed)], output: [batch, classes], on: runtime,
            shape: "[\(batch), \(features)] → \(classes) \(activation.rawValue)", family: family, precision: precision)
    }

    /// `softmax_rows` against `Reference.softmax`.
    public static func softmax(on runtime: DeviceRuntime, shape: [Int], seed: UInt64) throws -> Result {
        try check(
            Softmax(name: "check", shape: shape), [Tensor.random(shape: shape, seed: seed, in: -8...8)], output: shape,
            on: runtime, shape: "\(shape)")
    }

    /// `preprocess_image` against `Reference.preprocess` on a random image.
    public static func preprocess(
        on runtime: DeviceRuntime, width: Int, height: Int, settings: Preprocessing, seed: UInt64, precision: Precision = .fp32
    ) throws -> Result {
        var generator = SplitMix64(seed: seed)
        let image = RGBImage(
            width: width, height: height,
            pixels: (0..<(width * height * 3)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        let element = precision.storage
        let expected = try Reference.preprocess(image, settings).rounded(to: element)
        let output = try runtime.upload(Tensor(shape: expected.shape, repeating: .nan), as: element)
        let launch = try DevicePreprocessing.enqueue(
            image, settings, runtime: runtime, output: output, offset: 0, element: element)
        let actual = try runtime.download(output, shape: expected.shape, as: element)
        // Bit for bit before rounding, so the same after it: the fp32 tolerance holds in fp16 too.
        return Result(
            kernel: launch.kernel.name, shape: "\(width)×\(height) resize \(settings.resize) crop \(settings.crop)",
            comparison: Comparison(actual: actual, expected: expected), tolerance: tolerance)
    }

    /// Runs `op`'s device op on `inputs` into a NaN-poisoned output (so a kernel that skips
    /// values fails) and compares it with `op.reference(inputs)`. In fp16 the feature maps are
    /// stored as half (the reference gets the same rounded inputs) and so are the weights.
    static func check(
        _ op: any DeviceLowerable, _ inputs: [Tensor], output shape: [Int], on runtime: DeviceRuntime, shape label: String,
        family: KernelFamily = .cpu, tuning: TuningTable? = nil, inPlace: Bool = false, precision: Precision = .fp32,
        halfArithmetic: Bool = false
    ) throws -> Result {
        let context = LoweringContext(runtime: runtime, family: family, tuning: tuning, precision: precision)
        let element = { (shape: [Int]) in shape.count == 4 ? precision.storage : ElementType.float32 }
        let inputs = inputs.map { $0.rounded(to: element($0.shape)) }
        let expected = op.reference(inputs)
        precondition(expected.shape == shape, "\(type(of: op)) made \(expected.shape), expected \(shape)")
        let outputValue = ValueInfo(name: "output", shape: shape, elementType: element(shape))
        let inputBuffers = try inputs.map { try runtime.upload($0, as: element($0.shape)) }
        let output = inPlace ? inputBuffers[0] : try runtime.upload(Tensor(shape: shape, repeating: .nan), as: element(shape))
        let scratchBytes = op.scratchBytes(output: outputValue, context: context)
        let binding = DeviceBinding(
            context: context,
            inputValues: inputs.map { ValueInfo(name: "input", shape: $0.shape, elementType: element($0.shape)) },
            outputValue: outputValue, inputs: inputBuffers, output: output,
            weights: try DeviceModel(runtime: runtime, precision: precision).weights(for: op, context: context),
            scratch: scratchBytes > 0 ? try runtime.buffer(bytes: scratchBytes) : nil)
        let deviceOp = try op.makeDeviceOp(binding)
        try deviceOp.enqueue(on: runtime.queue, profile: false)
        let actual = try runtime.download(output, shape: shape, as: element(shape))
        return Result(
            kernel: deviceOp.launches.map(\.kernel.name).joined(separator: "+"), shape: label,
            comparison: Comparison(actual: actual, expected: expected),
            tolerance: tolerance(precision, halfArithmetic: halfArithmetic))
    }
}
