import ArgumentParser
import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages

struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer", abstract: "Classify a batch: top-k classes per image, optionally the logits as .npy.")

    @OptionGroup var engineOptions: EngineOptions

    @OptionGroup var modelOptions: ModelOptions

    @Flag(name: .shortAndLong, help: "Print the plan: where each op runs, buffers, memory.")
    var verbose = false

    @Option(name: .customLong("top"), help: "Classes to show per image.")
    var topK = 5

    @Option(help: "Write the logits [batch, classes] as float32 .npy here.")
    var saveLogits: String?

    @Option(help: "Write the probabilities (softmax of the logits) [batch, classes] as float32 .npy here.")
    var saveProbabilities: String?

    @Option(
        name: .customLong("labels"), help: "Class names, one per line (default: ImageNet's for 1000-class models, else indices).")
    var labelsFile: String?

    @Option(
        help: ArgumentHelp(
            "Write the run's kernel launches here as a Chrome trace-event JSON file (opens in Perfetto); a tensor input on one device.",
            valueName: "file"))
    var trace: String?

    @Flag(help: "Print JSON instead of text (one JSON object per line for images).")
    var json = false

    struct Report: Encodable {
        struct Prediction: Encodable {
            let index: Int
            let probability: Float
        }
        let model: String
        /// What the model's own output is: "logits", or "probabilities" for a graph ending in Softmax.
        let output: String
        let syntheticWeights: Bool
        let device: String
        let inputShape: [Int]
        let images: [[Prediction]]
        let cpuFallbacks: [String]
        let peakActivationBytes: Int
        let programsCompiled, programsFromDiskCache: Int
        let loadSeconds, planSeconds, runSeconds: Double
    }

    func run() throws {
        do {
            guard topK >= 1 else { throw CLIError.invalidOption("--top \(topK) shows no class; use --top 1 or more") }
            let start = Date()
            let (model, synthetic) = try modelOptions.loadModel()
            if modelOptions.inputIsImages {
                if trace != nil {
                    throw CLIError.invalidOption("--trace takes a tensor input (--input x.npy or none), not images")
                }
                return try classifyImages(engines: try engineOptions.engines(for: model), model: model, synthetic: synthetic)
            }
            if let devices = try engineOptions.deviceIndices(), devices.count > 1 {
                throw CLIError.invalidOption(
                    "--device \(engineOptions.device) spreads image files over devices; a tensor input runs on one device, so name one"
                )
            }
            let input = try modelOptions.loadInput()
            if trace != nil, try engineOptions.deviceIndices() == nil { throw TraceFile.needsDevice }
            var engine = try engineOptions.engine(for: model, profiling: trace != nil, calibration: input)
            let loaded = Date()
            let plan = try engineOptions.plan(&engine, shape: input.shape)
            let planned = Date()
            if verbose { printPlan(plan, engine: engine) }
            let output = try plan.run(input)
            let finished = Date()
            Self.warnIfNotFinite(output.logits, precision: plan.precision)
            if let saveLogits { try NumpyFile.write(output.logits, path: saveLogits) }
            if let saveProbabilities { try NumpyFile.write(output.probabilities, path: saveProbabilities) }
            if let trace { try TraceFile.write(plan, output, to: trace) }

            let stats = engine.runtime?.programs.statistics
            let report = Report(
                model: model.summary, output: model.outputsProbabilities ? "probabilities" : "logits",
                syntheticWeights: synthetic,
                device: plan.deviceName ?? "cpu (Swift reference)", inputShape: input.shape,
                images: topPredictions(output.probabilities, k: topK),
                cpuFallbacks: plan.fallbacks.map { "\($0.name): \($0.reason ?? "")" },
                peakActivationBytes: plan.activationBytes, programsCompiled: stats?.compiledFromSource ?? 0,
                programsFromDiskCache: stats?.loadedFromDisk ?? 0, loadSeconds: loaded.timeIntervalSince(start),
                planSeconds: planned.timeIntervalSince(loaded), runSeconds: finished.timeIntervalSince(planned))
            for fallback in report.cpuFallbacks where !json { printErr("note: on the CPU: \(fallback)") }
            json ? try printJSON(report) : printText(report)
        } catch let error as ExitCode {
            throw error
        } catch { throw SENetGPUCommand.fail(error) }
    }

    /// `-v`: the plan, and the OpenCL compiler's messages of the programs built in this run.
    func printPlan(_ plan: ExecutionPlan, engine: InferenceEngine) {
        printErr(plan.textDescription)
        for entry in engine.runtime?.programs.warnings ?? [] {
            printErr("build log of \(entry.file) (\(entry.options)):\n\(entry.log)")
        }
    }

    private func printText(_ report: Report) {
        print(
            "model: \(report.model)\(report.syntheticWeights ? ", SYNTHETIC seeded weights (not trained; classes are meaningless)" : "")"
        )
        print("device: \(report.device); input \(report.inputShape)")
        if report.output == "probabilities" {
            print(
                "output: probabilities (the model ends in Softmax; --save-probabilities writes them, --save-logits the values before it)"
            )
        }
        for (index, predictions) in report.images.enumerated() {
            let top = predictions.map { "class \($0.index) \(String(format: "%.4f", $0.probability))" }.joined(separator: ", ")
            print("image \(index): \(top)")
        }
        print(
            String(
                format: "time: load %.3f s, plan %.3f s (kernels: %d compiled, %d from cache), run %.3f s",
                report.loadSeconds, report.planSeconds, report.programsCompiled, report.programsFromDiskCache, report.runSeconds))
    }

    /// One warning line when logits are NaN or infinite: in fp16 the usual cause is a feature
    /// map past half's range, which `compare` pins to a layer.
    static func warnIfNotFinite(_ logits: Tensor, precision: Precision) {
        let bad = logits.data.filter { !$0.isFinite }.count
        guard bad > 0 else { return }
        let hint =
            precision == .fp16
            ? "a feature map probably overflowed fp16 (65504); find the layer with `senet-gpu compare --precision fp16`, "
                + "keep it in fp32 with --auto-precision, or run with --precision fp32"
            : "check the weights (NaN or infinite values) with `senet-gpu compare`"
        printErr("senet-gpu: warning: \(bad) of \(logits.count) logits are not finite; \(hint)")
    }
}

/// The `k` most probable classes of each row of `probabilities` [N, classes].
func topPredictions(_ probabilities: Tensor, k: Int) -> [[InferCommand.Report.Prediction]] {
    let classes = probabilities.shape[1]
    return (0..<probabilities.shape[0]).map { row in
        let values = probabilities.data[(row * classes)..<((row + 1) * classes)]
        return zip(values.indices, values).sorted { $0.1 > $1.1 }.prefix(max(0, k)).map {
            .init(index: $0.0 - row * classes, probability: $0.1)
        }
    }
}
