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
            opSeconds = try profiledPlan.run(input).opSeconds
        } else {
            opSeconds = []
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
    /// Median seconds of one convolution of `g` as a plan's CPU kernel family runs it by
    /// default (grouped layers: the grouped tiling), on random data, with the device's queue
    /// drained each time.
    public static func convolutionSeconds(runtime: DeviceRuntime, geometry g: ConvGeometry, iterations: Int) throws -> Double {
        let tiling =
            g.groups > 1
            ? ConvTiling.groupedDefault(device: runtime.device, geometry: g) : .defaultFor(device: runtime.device, geometry: g)
        let weight = Tensor.random(shape: g.weightShape, seed: 2, in: -0.1...0.1)
        let scratchCount = TiledConvolution.scratchCount(g, tiling: tiling)
        let op = try TiledConvolution.make(
            runtime: runtime, geometry: g, tiling: tiling, input: try runtime.upload(Tensor.random(shape: g.inputShape, seed: 1)),
            weightT: try runtime.upload(ConvTiling.packWeights(weight)), bias: try runtime.upload(Tensor(shape: [g.outChannels])),
            output: try runtime.buffer(floats: g.outputShape.reduce(1, *)), relu: true,
            scratch: scratchCount > 0 ? try runtime.buffer(floats: scratchCount) : nil)
        try op.enqueue(on: runtime.queue, profile: false)
        try runtime.queue.finish()
        return try medianSeconds(repeats: iterations) {
            try op.enqueue(on: runtime.queue, profile: false)
            try runtime.queue.finish()
        }
    }
}
