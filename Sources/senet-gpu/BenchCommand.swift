import ArgumentParser
import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time a model on a device: latency, throughput, GFLOP/s, the costliest layers, cold and warm start.")

    @OptionGroup var engineOptions: EngineOptions

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Untimed runs first.")
    var warmup = 3

    @Option(help: "Timed runs.")
    var iterations = 10

    @Option(
        help: ArgumentHelp(
            "Write the profiled run's kernel launches here as a Chrome trace-event JSON file (opens in Perfetto).",
            valueName: "file"))
    var trace: String?

    @Flag(help: "Skip the cold/warm start measurement (two child processes).")
    var noStartup = false

    @Flag(help: "Skip measuring the device's ceilings (SGEMM rate and FMA peak).")
    var noCeiling = false

    @Option(help: "How many of the costliest layers to list (all: a large number).")
    var layers = 10

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(
        name: .customLong("conv"),
        help:
            "Time single convolutions instead of the network: IN,OUT,KERNEL,STRIDE,HxW[,GROUPS] (repeatable; batch from --batch)."
    )
    var convs: [String] = []

    @Option(help: "Interleaved rounds of --conv timings.")
    var rounds = 5

    struct Report: Encodable {
        struct Layer: Encodable {
            let name: String
            let ms: Double
        }
        let model, device: String
        /// fp32 or fp16, and the convolutions that multiply in half.
        let precision: String
        let halfArithmeticConvolutions: Int
        let batch: Int
        let inputShape: [Int]
        let iterations: Int
        let gmacsPerImage: Double
        let medianMs, minMs, maxMs, msPerImage, imagesPerSecond, gflops: Double
        let ceilingGflops: Double?
        let ceilingTiling: String?
        let fractionOfCeiling: Double?
        /// clock × compute units × native vector width × 2, when the driver reports a clock.
        let nominalPeakGflops: Double?
        /// What `fma_peak` reaches: the device's FMA peak as measured.
        let measuredPeakGflops: Double?
        /// What `fma_peak` reached at each vector width it timed (the peak is the best).
        let peakGflopsByVectorWidth: [String: Double]?
        let fractionOfPeak: Double?
        let coldStartSeconds, warmStartSeconds: Double?
        let peakActivationBytes, weightBytes: Int
        let layers: [Layer]
        /// The same profiled run summed by layer kind, costliest first, with each kind's share
        /// of the measured FMA peak.
        let layerKinds: [LayerKindProfile.Row]
    }

    func run() throws {
        if !convs.isEmpty {
            do { return try runConvolutions() } catch { throw SENetGPUCommand.fail(error) }
        }
        let report: Report
        do {
            let (model, _) = try modelOptions.loadModel()
            let input = try modelOptions.loadInput()
            let engine = try engineOptions.engine(for: model)
            let plan = try engine.plan(for: input.shape)
            let profiled =
                engine.runtime == nil ? nil : try engineOptions.engine(for: model, profiling: true).plan(for: input.shape)
            let macs = plan.graph.macs
            if trace != nil, engine.runtime == nil { throw TraceFile.needsDevice }
            let bench = try Benchmark(
                plan: plan, profiledPlan: profiled ?? plan, input: input, macs: macs, warmup: warmup, iterations: iterations)
            if let trace, let output = bench.profiledOutput { try TraceFile.write(profiled ?? plan, output, to: trace) }
            var ceiling: (gflops: Double, tiling: ConvTiling)?
            var peak: DevicePeak?
            if let runtime = engine.runtime, !noCeiling {
                peak = try DevicePeak.measure(runtime: runtime)
                let candidates = [(8, 8), (8, 16), (16, 8), (4, 16), (4, 4), (16, 16)].map {
                    ConvTiling(channels: $0.0, pixels: $0.1)
                }
                ceiling = try Benchmark.gemmCeiling(runtime: runtime, tilings: candidates)
            }
            let (cold, warm) = noStartup || engine.runtime == nil ? (nil, nil) : try measureStartup()
            let batch = Double(input.shape[0])
            report = Report(
                model: model.architecture.modelName, device: plan.deviceName ?? "cpu (Swift reference)",
                precision: plan.precision.rawValue, halfArithmeticConvolutions: plan.halfArithmeticConvolutions,
                batch: input.shape[0],
                inputShape: input.shape, iterations: bench.iterations,
                gmacsPerImage: Double(macs) / batch / 1e9, medianMs: bench.median * 1e3, minMs: bench.minimum * 1e3,
                maxMs: bench.maximum * 1e3, msPerImage: bench.median * 1e3 / batch, imagesPerSecond: batch / bench.median,
                gflops: bench.gflops, ceilingGflops: ceiling?.gflops, ceilingTiling: ceiling?.tiling.description,
                fractionOfCeiling: ceiling.map { bench.gflops / $0.gflops }, nominalPeakGflops: peak?.nominalGflops,
                measuredPeakGflops: peak?.measuredGflops,
                peakGflopsByVectorWidth: peak.map {
                    Dictionary(uniqueKeysWithValues: $0.gflopsByWidth.map { ("\($0.key)", $0.value) })
                },
                fractionOfPeak: peak.map { bench.gflops / $0.measuredGflops },
                coldStartSeconds: cold, warmStartSeconds: warm,
                peakActivationBytes: plan.activationBytes, weightBytes: plan.weightBytes,
                layers: bench.opSeconds.sorted { $0.seconds > $1.seconds }.prefix(max(0, layers)).map {
                    .init(name: $0.name, ms: $0.seconds * 1e3)
                },
                layerKinds: LayerKindProfile(graph: plan.graph, opSeconds: bench.opSeconds, peakGflops: peak?.measuredGflops).rows
            )
        } catch { throw SENetGPUCommand.fail(error) }
        json ? try printJSON(report) : printText(report)
    }

    /// Start to first result of `infer` in a child process: with empty kernel caches (ours and
    /// PoCL's), then again with them filled.
    private func measureStartup() throws -> (Double, Double) {
        let caches = FileManager.default.temporaryDirectory.appendingPathComponent("senet-gpu-bench-\(UUID())")
        defer { try? FileManager.default.removeItem(at: caches) }
        var arguments = [
            "infer", "--device", engineOptions.device, "--batch", "\(modelOptions.batch)", "--size", modelOptions.size,
        ]
        if let weights = modelOptions.weights { arguments += ["--weights", weights] }
        if let model = modelOptions.model { arguments += ["--model", model] }
        if let kernels = engineOptions.kernelOptions.kernels { arguments += ["--kernels", kernels] }
        arguments += [
            "--precision", engineOptions.precision.rawValue, "--arithmetic", engineOptions.arithmetic.rawValue,
        ]
        if engineOptions.noWinograd { arguments.append("--no-winograd") }
        if let calibration = engineOptions.int8Calibration { arguments += ["--int8-calibration", calibration] }
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CACHE_HOME"] = caches.path
        environment["POCL_CACHE_DIR"] = caches.appendingPathComponent("pocl").path
        environment["SENET_GPU_CACHE"] = nil
        func once() throws -> Double {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            if !FileManager.default.isExecutableFile(atPath: process.executableURL!.path) {
                process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            }
            process.arguments = arguments
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let start = Date()
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw CLIError.invalidOption(
                    "the start-up measurement run failed (exit \(process.terminationStatus)); try --no-startup")
            }
            return Date().timeIntervalSince(start)
        }
        return (try once(), try once())
    }

    /// "8 lanes best; 4: 92, 8: 198, 16: 114".
    private func widths(_ rates: [String: Double]) -> String {
        let sorted = rates.sorted { Int($0.key)! < Int($1.key)! }
        let best = rates.max { $0.value < $1.value }?.key ?? "?"
        return "\(best) lanes best; " + sorted.map { "\($0.key): " + String(format: "%.0f", $0.value) }.joined(separator: ", ")
    }

    private func printText(_ r: Report) {
        print("\(r.model) on \(r.device), input \(r.inputShape), \(String(format: "%.2f", r.gmacsPerImage)) GMAC per image")
        if r.precision == "fp16" {
            print("precision: fp16 storage, half arithmetic in \(r.halfArithmeticConvolutions) convolutions")
        }
        print(
            String(
                format: "latency: median %.2f ms, min %.2f ms, max %.2f ms over %d runs (%.2f ms per image)", r.medianMs, r.minMs,
                r.maxMs,
                r.iterations, r.msPerImage))
        print(String(format: "throughput: %.1f images/s, %.1f GFLOP/s", r.imagesPerSecond, r.gflops))
        if let ceiling = r.ceilingGflops, let fraction = r.fractionOfCeiling {
            print(
                String(
                    format: "SGEMM ceiling on this device: %.1f GFLOP/s (%@); network at %.0f%% of it", ceiling,
                    r.ceilingTiling ?? "", fraction * 100))
        }
        if let peak = r.measuredPeakGflops, let fraction = r.fractionOfPeak {
            let nominal = r.nominalPeakGflops.map { String(format: "; from its clock: %.1f GFLOP/s", $0) } ?? ""
            print(
                String(
                    format: "FMA peak of this device: %.1f GFLOP/s measured (%@)%@; network at %.0f%% of it", peak,
                    widths(r.peakGflopsByVectorWidth ?? [:]), nominal, fraction * 100))
        }
        if let cold = r.coldStartSeconds, let warm = r.warmStartSeconds {
            print(String(format: "start to first result: cold %.2f s (empty kernel caches), warm %.2f s", cold, warm))
        }
        print(
            String(
                format: "memory: %.1f MiB activations, %.1f MiB weights", Double(r.peakActivationBytes) / 1_048_576,
                Double(r.weightBytes) / 1_048_576))
        if !r.layers.isEmpty {
            print("costliest layers (one profiled run):")
            for layer in r.layers {
                print("  " + layer.name.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%8.3f ms", layer.ms))
            }
        }
        if !r.layerKinds.isEmpty {
            print("time by layer kind (same run):   layers       ms    GMAC  GFLOP/s  of FMA peak")
            for row in r.layerKinds {
                let rate = row.gflops.map { String(format: "%9.1f", $0) } ?? String(repeating: " ", count: 9)
                let share = row.fractionOfPeak.map { String(format: "%12.0f%%", $0 * 100) } ?? ""
                print(
                    "  " + row.kind.padding(toLength: 30, withPad: " ", startingAt: 0)
                        + String(format: "%6d %8.3f %7.3f", row.layers, row.ms, row.gmacs) + rate + share)
            }
        }
    }
}
