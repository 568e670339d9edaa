import Foundation
import SENetCore
import SENetEngine

/// `bench --conv SPEC …`: single convolutions instead of a network, timed in interleaved
/// rounds so layers of the same work (a grouped 3×3 beside an ungrouped one) compare fairly on
/// a drifting machine. Each row: median time, GFLOP/s, and the median per-round ratio to the
/// first spec.
extension BenchCommand {
    /// `IN,OUT,KERNEL,STRIDE,HxW[,GROUPS]` with the batch of `--batch`.
    func convolutionSpec(_ text: String) throws -> ConvGeometry {
        let fields = text.split(separator: ",").map(String.init)
        let numbers = fields.enumerated().filter { $0.offset != 4 }.compactMap { Int($0.element) }
        let size = fields.count > 4 ? fields[4].split(separator: "x").compactMap { Int($0) } : []
        guard fields.count == 5 || fields.count == 6, numbers.count == fields.count - 1, size.count == 1 || size.count == 2,
            numbers.allSatisfy({ $0 >= 1 }), size.allSatisfy({ $0 >= 1 && $0 <= 4096 })
        else {
            throw CLIError.invalidOption("--conv '\(text)' is not IN,OUT,KERNEL,STRIDE,HxW[,GROUPS], e.g. 256,256,3,1,28x28,32")
        }
        let groups = fields.count == 6 ? numbers[4] : 1
        let (inChannels, outChannels, kernel, stride) = (numbers[0], numbers[1], numbers[2], numbers[3])
        guard inChannels % groups == 0, outChannels % groups == 0, kernel <= 15, stride <= 8 else {
            throw CLIError.invalidOption("--conv '\(text)': channels must divide into the groups; kernel ≤ 15, stride ≤ 8")
        }
        return ConvGeometry(
            batch: modelOptions.batch, inChannels: inChannels, height: size[0], width: size.last!, outChannels: outChannels,
            kernel: kernel, stride: stride, padding: kernel / 2, groups: groups)
    }

    func runConvolutions() throws {
        let geometries = try convs.map(convolutionSpec)
        guard rounds >= 1 else { throw CLIError.invalidOption("--rounds \(rounds) must be at least 1") }
        try engineOptions.checkPrecision()
        guard engineOptions.precision == .fp32 else { throw CLIError.invalidOption("--conv times fp32 convolutions only") }
        guard let runtime = try engineOptions.openRuntime(profiling: true) else {
            throw CLIError.invalidOption("--conv times device kernels; pick an OpenCL --device")
        }
        let context = LoweringContext(runtime: runtime, family: engineOptions.family, winograd: !engineOptions.noWinograd)
        var timings = Array(repeating: [Benchmark.ConvolutionTiming](), count: geometries.count)
        for _ in 0..<rounds {
            for (index, g) in geometries.enumerated() {
                timings[index].append(try Benchmark.convolution(g, context: context, iterations: iterations))
            }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        print(
            "device: \(runtime.device); \(rounds) interleaved rounds of \(iterations) runs; each layer's untuned algorithm "
                + "and tiling in the \(context.family) kernel family")
        for (index, g) in geometries.enumerated() {
            let seconds = timings[index].map(\.seconds)
            let ratios = zip(seconds, timings[0].map(\.seconds)).map { $0 / $1 }
            let first = timings[index][0]
            // Each kernel's share of its profiled runs (the medians of the rounds).
            let split = first.kernelSeconds.indices.map { k in
                let share = median(timings[index].map { $0.kernelSeconds[k].seconds / max($0.seconds, 1e-12) })
                return "\(first.kernelSeconds[k].name) \(String(format: "%.0f%%", 100 * share))"
            }
            print(
                String(
                    format: "%@  %.2f MMAC  %.3f ms  %.1f GFLOP/s  %.2fx time of the first  %@ %@", convs[index],
                    Double(g.macs) / 1e6, median(seconds) * 1e3, 2 * Double(g.macs) / median(seconds) / 1e9, median(ratios),
                    first.algorithm, first.tiling) + (split.count > 1 ? " (" + split.joined(separator: ", ") + ")" : ""))
        }
    }
}
