import Crypto
import Foundation
import OpenCLKit
import SENetCore

/// Times tile-size candidates for convolution shapes on one device.
public enum ConvTuner {
    /// One shape's outcome.
    public struct Result<Tiling: Hashable & Sendable & CustomStringConvertible>: Sendable {
        public let key: String
        public let best: Tiling
        public let bestSeconds: Double
        /// The device's default tiling for the shape, kept unless a finalist beats it by 3 %.
        public let fallback: Tiling
        public let defaultSeconds: Double
        /// The finalists of the interleaved rounds (the three fastest and the default) with
        /// their median seconds.
        public let finalists: [Tiling: Double]
        /// Candidates rejected because their output disagreed with the reference.
        public let rejected: [Tiling]
    }

    /// The pixel-vector tilings tried on every shape (the im2col ones only where the layer is not
    /// a GEMM).
    public static let candidates: [ConvTiling] = [false, true].flatMap { unfold in
        [4, 8, 16].flatMap { m in [4, 8, 16].map { ConvTiling(channels: m, pixels: $0, im2col: unfold) } }
    }

    /// A grouped layer's candidates: the direct kernel with TM of the three largest of 16, 8, 4,
    /// 2, 1 dividing the group's output channels, 8 or 16 pixels.
    static func groupedCandidates(_ g: ConvGeometry, device: CLDevice) -> [ConvTiling] {
        let perGroup = g.outChannels / g.groups
        let local = device.type == .cpu ? 8 : 64
        return [16, 8, 4, 2, 1].filter { perGroup % $0 == 0 }.prefix(3).flatMap { m in
            [8, 16].map { ConvTiling(channels: m, pixels: $0, localSize: local) }
        }
    }

    /// Register tiles of the channel-vector kernel, (vectors, pixels): 4 to 16 accumulators.
    static let channelVectorTiles = [(1, 8), (1, 12), (1, 16), (2, 4), (2, 6), (2, 8), (2, 10), (4, 3), (4, 2)]

    /// `candidates` with the driver's work-group size and with a fixed one (64 on GPUs). On CPUs
    /// the pixel-vector tiles that ever win (8 or 16 channels and pixels) in work-groups of 8
    /// (PoCL compiles a variant per work-group size, so the driver's choice costs start-up),
    /// and the channel-vector tiles at the native vector width and half of it, in work-groups
    /// of 2 to 8.
    public static func candidates(for device: CLDevice) -> [ConvTiling] {
        guard device.type == .cpu else {
            return candidates
                + candidates.map { ConvTiling(channels: $0.channels, pixels: $0.pixels, localSize: 64, im2col: $0.im2col) }
        }
        let pixelVector = candidates.filter { $0.channels >= 8 && $0.pixels >= 8 }.map {
            ConvTiling(channels: $0.channels, pixels: $0.pixels, localSize: 8, im2col: $0.im2col)
        }
        let native = [16, 8, 4].first { $0 <= device.nativeFloatVectorWidth } ?? 4
        let widths = [native, native / 2].filter { [4, 8, 16].contains($0) }
        let channelVector = widths.flatMap { width in
            channelVectorTiles.flatMap { vectors, pixels in
                [2, 4, 8].map { ConvTiling(vectors: vectors, vectorWidth: width, pixels: pixels, localSize: $0) }
            }
        }
        return channelVector + pixelVector
    }

    /// `candidates(for:)` in `precision`: in fp16 on a device with half arithmetic, the
    /// channel-vector tiles at the native width are tried with it as well (`auto`), instead
    /// (`fp16`) or not at all (`fp32`).
    public static func candidates(for device: CLDevice, precision: Precision, arithmetic: Arithmetic = .auto) -> [ConvTiling] {
        let plain = candidates(for: device)
        let native = ConvTiling.nativeWidth(device)
        let half = plain.filter { $0.kernel == .channelVector && $0.vectorWidth == native }.map { $0.withHalfArithmetic() }
        return choose(plain: plain, half: half, precision: precision, arithmetic: arithmetic, device: device)
    }

    /// The GPU family's candidates that fit `device`, with half arithmetic as for `candidates`.
    public static func gpuCandidates(for device: CLDevice, precision: Precision, arithmetic: Arithmetic = .auto)
        -> [GPUConvTiling]
    {
        let plain = GPUConvTiling.candidates.filter { $0.fits(device) }
        return choose(
            plain: plain, half: plain.map { $0.withHalfArithmetic() }, precision: precision, arithmetic: arithmetic,
            device: device)
    }

    static func choose<T>(plain: [T], half: [T], precision: Precision, arithmetic: Arithmetic, device: CLDevice) -> [T] {
        guard precision == .fp16 && device.supportsFP16 else { return plain }
        switch arithmetic {
        case .auto: return plain + half
        case .fp32: return plain
        case .fp16: return half
        }
    }

    /// Times each CPU-family candidate on `g` in `precision` and `arithmetic`, after checking
    /// it against the reference, and returns the fastest.
    public static func tune(
        _ g: ConvGeometry, runtime: DeviceRuntime, precision: Precision = .fp32, arithmetic: Arithmetic = .auto,
        repeats: Int = 3
    ) throws -> Result<ConvTiling> {
        let device = runtime.device
        if g.groups > 1 {
            // One kernel serves grouped layers: its tiles inside a group, any pixel width.
            let tried = groupedCandidates(g, device: device)
            return try search(
                g, runtime: runtime, precision: precision, candidates: tried,
                fallback: .groupedDefault(device: device, geometry: g), repeats: repeats
            ) {
                try TiledConvolution.make(
                    runtime: runtime, geometry: g, tiling: $0, input: $1.input, weightT: $1.weightT, bias: $1.bias,
                    output: $1.output, relu: false, types: KernelTypes(precision))
            }
        }
        let tried = candidates(for: device, precision: precision, arithmetic: arithmetic)
        let scratchCount = tried.map { TiledConvolution.scratchCount(g, tiling: $0) }.max() ?? 0
        let scratch = scratchCount > 0 ? try runtime.buffer(bytes: scratchCount * precision.storage.byteSize) : nil
        let halfOnly = precision == .fp16 && arithmetic == .fp16
        let fallback =
            halfOnly
            ? ConvTiling.channelVectorDefault(device: device).withHalfArithmetic() : .defaultFor(device: device, geometry: g)
        return try search(g, runtime: runtime, precision: precision, candidates: tried, fallback: fallback, repeats: repeats) {
            try TiledConvolution.make(
                runtime: runtime, geometry: g, tiling: $0, input: $1.input, weightT: $1.weightT, bias: $1.bias, output: $1.output,
                relu: false, scratch: scratch, types: KernelTypes(precision))
        }
    }

    /// Times each GPU-family candidate the device can run on `g` (split-K on and off; half
    /// arithmetic as for `tune`), after checking it against the reference, and returns the
    /// fastest.
    public static func tuneGPU(
        _ g: ConvGeometry, runtime: DeviceRuntime, precision: Precision = .fp32, arithmetic: Arithmetic = .auto,
        repeats: Int = 3
    ) throws -> Result<GPUConvTiling> {
        let units = runtime.device.computeUnits
        let tried = gpuCandidates(for: runtime.device, precision: precision, arithmetic: arithmetic)
        let scratchBytes = tried.map { GPUConvolution.scratchBytes(g, tiling: $0, computeUnits: units) }.max() ?? 0
        let scratch = scratchBytes > 0 ? try runtime.buffer(bytes: scratchBytes) : nil
        var fallback = GPUConvTiling.defaultFor(device: runtime.device, geometry: g)
        if precision == .fp16 && arithmetic == .fp16 { fallback = fallback.withHalfArithmetic() }
        return try search(g, runtime: runtime, precision: precision, candidates: tried, fallback: fallback, repeats: repeats) {
            try GPUConvolution.make(
                runtime: runtime, geometry: g, tiling: $0, input: $1.input, weightT: $1.weightT, bias: $1.bias, output: $1.output,
                relu: false, scratch: scratch, types: KernelTypes(precision))
        }
    }

    /// Largest relative error a candidate may have against the fp32 reference on the same
    /// (half-rounded, in fp16) inputs and weights: fp16 adds the output's rounding (2e-3, as
    /// the self-check), half arithmetic the products' and partial sums' (1e-2).
    static func candidateTolerance(_ precision: Precision, halfArithmetic: Bool) -> Float {
        precision == .fp32 ? 1e-4 : KernelSelfCheck.tolerance(precision, halfArithmetic: halfArithmetic)
    }

    /// The device buffers every candidate of one shape shares, and the weight on the host (for
    /// algorithms that pack it their own way).
    struct Buffers {
        let input, weightT, bias, output: CLBuffer
        let weight: Tensor
    }

    /// Checks each candidate against the reference (relative error ≤ 1e-4) on an output first
    /// filled with NaN, so one that leaves values unwritten fails, then times those that pass.
    /// The machine drifts, so the three fastest and the default are timed again in interleaved
    /// rounds, and the default stays unless a finalist beats it by more than 3 %.
    static func search<Tiling: HalfArithmeticTiling>(
        _ g: ConvGeometry, runtime: DeviceRuntime, precision: Precision = .fp32, candidates: [Tiling], fallback: Tiling,
        repeats: Int, make: (Tiling, Buffers) throws -> DeviceOp
    ) throws -> Result<Tiling> {
        let storage = precision.storage
        let input = Tensor.random(shape: g.inputShape, seed: 11).rounded(to: storage)
        let weight = Tensor.random(shape: g.weightShape, seed: 12, in: -0.1...0.1).rounded(to: storage)
        let bias = Tensor.random(shape: [g.outChannels], seed: 13)
        let expected = Reference.conv2d(input, weight: weight, bias: bias, stride: g.stride, padding: g.padding, groups: g.groups)
        let buffers = Buffers(
            input: try runtime.upload(input, as: storage),
            weightT: try runtime.upload(ConvTiling.packWeights(weight), as: storage),
            bias: try runtime.upload(bias), output: try runtime.buffer(bytes: expected.count * storage.byteSize),
            weight: weight)
        let poison = Tensor(shape: expected.shape, repeating: .nan)
        var timings: [Tiling: Double] = [:]
        var ops: [Tiling: DeviceOp] = [:]
        var rejected: [Tiling] = []
        var tried: [Tiling] = []
        for tiling in candidates + [fallback] where !tried.contains(tiling) { tried.append(tiling) }
        func time(_ op: DeviceOp, repeats: Int = repeats) throws -> Double {
            try Benchmark.medianSeconds(repeats: repeats) {
                try op.enqueue(on: runtime.queue, profile: false)
                try runtime.queue.finish()
            }
        }
        for tiling in tried {
            let op = try make(tiling, buffers)
            try runtime.write(poison, to: buffers.output, as: storage)
            try op.enqueue(on: runtime.queue, profile: false)
            let actual = try runtime.download(buffers.output, shape: expected.shape, as: storage)
            guard
                Comparison(actual: actual, expected: expected).passes(
                    tolerance: candidateTolerance(precision, halfArithmetic: tiling.halfArithmetic))
            else {
                rejected.append(tiling)
                continue
            }
            // A candidate three times slower than the best so far in one run cannot win: skip its
            // repeats (emulated half arithmetic on CPUs is 30x slower and dominated tune time).
            let once = try time(op, repeats: 1)
            let best = timings.values.min() ?? .infinity
            (ops[tiling], timings[tiling]) = (op, once > 3 * best ? once : try time(op))
        }
        guard !timings.isEmpty else {
            throw EngineError.tuningFailed(
                shape: "\(ConvShapeKey(g, precision: precision))", reason: "every candidate disagreed with the CPU reference")
        }
        var finalists = timings.sorted { $0.value < $1.value }.prefix(3).map(\.key)
        if timings[fallback] != nil && !finalists.contains(fallback) { finalists.append(fallback) }
        var rounds: [Tiling: [Double]] = [:]
        for _ in 0..<3 {
            for tiling in finalists { rounds[tiling, default: []].append(try time(ops[tiling]!)) }
        }
        let medians = rounds.mapValues { $0.sorted()[$0.count / 2] }
        var best = finalists.min { medians[$0]! < medians[$1]! }!
        if let defaultSeconds = medians[fallback], medians[best]! > 0.97 * defaultSeconds { best = fallback }
        return Result(
            key: "\(ConvShapeKey(g, precision: precision))", best: best, bestSeconds: medians[best]!, fallback: fallback,
            defaultSeconds: medians[fallback] ?? .nan, finalists: medians, rejected: rejected)
    }
}

extension ConvTuner {
    /// Runs `model` on a seeded input of `inputShape` through a plan that uses `table`, and
    /// compares the logits with the CPU reference: a table is saved only when the whole tuned
    /// network still computes the network (relative error ≤ `precision.tolerance`). Returns
    /// the error.
    @discardableResult
    public static func verifyNetwork(
        _ model: SEResNet, inputShape: [Int], runtime: DeviceRuntime, family: KernelFamily, table: TuningTable,
        precision: Precision = .fp32
    ) throws -> Float {
        var options = PlanOptions()
        options.kernelFamily = family
        options.precision = precision
        let graph = try NetworkGraph(model: model, inputShape: inputShape)
        let plan = try ExecutionPlan(
            graph: graph, runtime: runtime, weights: DeviceModel(runtime: runtime, precision: precision), options: options,
            tuning: table)
        let input = Tensor.random(shape: inputShape, seed: 21)
        let comparison = Comparison(actual: try plan.run(input).logits, expected: graph.runReference(input).logits)
        guard comparison.passes(tolerance: precision.tolerance) else {
            throw EngineError.tunedNetworkDisagrees(relativeError: comparison.relativeError)
        }
        return comparison.relativeError
    }
}

/// A tiling that may multiply in half (`HALF_MATH`).
public protocol HalfArithmeticTiling: Hashable, Sendable, CustomStringConvertible {
    var halfArithmetic: Bool { get set }
}

extension HalfArithmeticTiling {
    /// The same tiling with half arithmetic.
    func withHalfArithmetic() -> Self {
        var half = self
        half.halfArithmetic = true
        return half
    }
}

extension ConvTiling: HalfArithmeticTiling {}
extension GPUConvTiling: HalfArithmeticTiling {}
