import Foundation
import OpenCLKit
import SENetCore

/// Timing of a plan: warm-up, repeated runs, median/min/max, and per-op device times.
public struct Benchmark: Sendable {
    public let iterations: Int
    /// Seconds of each timed run (wall clock, start of enqueue to results on the host).
    public let runSeconds: [Double]
    /// Per-op seconds from one profiled run (OpenCL events on the device, host clock on the CPU).
    public let opSeconds: [(name: String, seconds: Double)]
    /// That profiled run, its kernel launches included (`ExecutionPlan.chromeTrace`).
    public let profiledOutput: ExecutionPlan.Output?
    /// Multiply-accumulates per run.
    public let macs: Int

    public var median: Double { runSeconds.sorted()[runSeconds.count / 2] }
    public var minimum: Double { runSeconds.min() ?? 0 }
    public var maximum: Double { runSeconds.max() ?? 0 }
    /// 2 × MACs per second at the median.
    public var gflops: Double { 2 * Double(macs) / median / 1e9 }

    /// Runs `plan` `warmup` times untimed, then `iterations` times timed; then once more on
    /// `profiledPlan` (same network on a profiling queue) for per-op times.
    public init(plan: ExecutionPlan, profiledPlan: ExecutionPlan?, input: Tensor, macs: Int, warmup: Int, iterations: Int) throws
    {
        for _ in 0..<warmup { _ = try plan.run(input) }
        var seconds: [Double] = []
        for _ in 0..<max(1, iterations) {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try plan.run(input)
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        runSeconds = seconds
        self.iterations = seconds.count
        self.macs = macs
        if let profiledPlan {
            _ = try profiledPlan.run(input)  // PoCL compiles per launch size on first use.
            profiledOutput = try profiledPlan.run(input)
            opSeconds = profiledOutput?.opSeconds ?? []
        } else {
            (opSeconds, profiledOutput) = ([], nil)
        }
    }

    /// Median wall-clock seconds of `repeats` calls of `body`.
    public static func medianSeconds(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
        var seconds: [Double] = []
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return seconds.sorted()[seconds.count / 2]
    }

    /// The best SGEMM rate our own tiled kernel reaches on the device: C[M, N] = A[M, K] · B[K, N]
    /// through `conv1x1_gemm` (a 1×1 convolution is exactly a GEMM), median of `iterations`.
    public static func gemmCeiling(runtime: DeviceRuntime, size: Int = 1024, tilings: [ConvTiling], iterations: Int = 5) throws
        -> (gflops: Double, tiling: ConvTiling)
    {
        let g = ConvGeometry(batch: 1, inChannels: size, height: size / 32, width: 32, outChannels: size, kernel: 1)
        let input = try runtime.upload(Tensor.random(shape: g.inputShape, seed: 1))
        let weight = try runtime.upload(Tensor.random(shape: [size, size], seed: 2))
        let bias = try runtime.upload(Tensor(shape: [size]))
        let output = try runtime.buffer(floats: g.outputShape.reduce(1, *))
        var best: (Double, ConvTiling) = (0, tilings[0])
        for tiling in tilings {
            let op = try TiledConvolution.make(
                runtime: runtime, geometry: g, tiling: tiling, input: input, weightT: weight, bias: bias, output: output,
                relu: false)
            try op.enqueue(on: runtime.queue, profile: false)
            try runtime.queue.finish()
            let seconds = try medianSeconds(repeats: iterations) {
                try op.enqueue(on: runtime.queue, profile: false)
                try runtime.queue.finish()
            }
            let rate = 2 * Double(g.macs) / seconds / 1e9
            if rate > best.0 { best = (rate, tiling) }
        }
        return best
    }
}

extension Benchmark {
    /// One convolution as an untuned plan in `context` runs it: the selected algorithm and
    /// tiling, with its packing and scratch.
    public struct ConvolutionTiming: Sendable {
        public let algorithm: String
        public let tiling: String
        /// Median seconds of one run (every launch, to the queue's end).
        public let seconds: Double
        /// Each kernel's seconds in one profiled run, summed over its launches (Winograd's chunks),
        /// in launch order; empty without a profiling queue.
        public let kernelSeconds: [(name: String, seconds: Double)]
    }

    /// Times `g` (+ ReLU) with random data as a plan in `context` would run it, median of
    /// `iterations` runs after one warm-up; on a profiling queue, one more run split by kernel.
    public static func convolution(_ g: ConvGeometry, context: LoweringContext, iterations: Int) throws -> ConvolutionTiming {
        let runtime = context.runtime
        let choice = ConvAlgorithms.select(g, context: context)
        let weight = Tensor.random(shape: g.weightShape, seed: 2, in: -0.1...0.1)
        let scratchBytes = choice.algorithm.scratchBytes(g, tiling: choice.tiling, elementBytes: 4, context: context)
        let binding = DeviceBinding(
            context: context, inputValues: [ValueInfo(name: "input", shape: g.inputShape, elementType: .float32)],
            outputValue: ValueInfo(name: "output", shape: g.outputShape, elementType: .float32),
            inputs: [try runtime.upload(Tensor.random(shape: g.inputShape, seed: 1))],
            output: try runtime.buffer(floats: g.outputShape.reduce(1, *)),
            weights: [
                try runtime.upload(choice.algorithm.packing.pack(weight)), try runtime.upload(Tensor(shape: [g.outChannels])),
            ],
            scratch: scratchBytes > 0 ? try runtime.buffer(bytes: scratchBytes) : nil)
        let op = try choice.algorithm.make(binding, geometry: g, tiling: choice.tiling, relu: true)
        try op.enqueue(on: runtime.queue, profile: false)
        try runtime.queue.finish()
        let seconds = try medianSeconds(repeats: iterations) {
            try op.enqueue(on: runtime.queue, profile: false)
            try runtime.queue.finish()
        }
        var kernels: [(name: String, seconds: Double)] = []
        if runtime.queue.profiling {
            let events = try op.enqueue(on: runtime.queue, profile: true)
            try runtime.queue.finish()
            for (launch, event) in zip(op.launches, events) {
                let time = Double(try event.durationNanoseconds()) / 1e9
                if let index = kernels.firstIndex(where: { $0.name == launch.kernel.name }) {
                    kernels[index].seconds += time
                } else {
                    kernels.append((launch.kernel.name, time))
                }
            }
        }
        return ConvolutionTiming(
            algorithm: choice.algorithm.name, tiling: "\(choice.tiling)", seconds: seconds, kernelSeconds: kernels)
    }
}
