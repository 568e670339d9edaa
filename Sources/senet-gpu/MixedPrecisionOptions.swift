import ArgumentParser
import Foundation
import SENetCore
import SENetEngine

/// Mixed precision: layers of an fp16 plan kept in fp32, named or found on calibration inputs.
struct MixedPrecisionOptions: ParsableArguments {
    @Flag(
        help:
            "With --precision fp16: find the layers whose fp16 error or overflow breaks the fp16 bound on calibration inputs, and keep exactly those in fp32 (printed on stderr; see docs/PRECISION.md)."
    )
    var autoPrecision = false

    @Option(
        help:
            "With --precision fp16: layers kept in fp32, as names, kinds or patterns (layer1.0.conv1,layer4*), or a JSON file written by --save-precision."
    )
    var fp32Layers: String?

    @Option(
        help:
            "Calibration inputs of --auto-precision: one float32 NCHW .npy, normalised. Default: the command's input (compare, plan, infer on a tensor), else a seeded synthetic 224×224 image."
    )
    var calibration: String?

    @Option(help: "Write the per-layer precision choice as JSON (for --fp32-layers).")
    var savePrecision: String?

    /// What `--save-precision` writes and `--fp32-layers FILE.json` reads.
    struct Choice: Codable {
        let device: String
        let tolerance: Float
        /// Plain fp16's logits error on the calibration inputs, or nil when it could not run.
        let plainFP16LogitsRelativeError: Float?
        let plainFP16Failure: String?
        let mixedLogitsRelativeError: Float
        let fp32Layers: [ExecutionPlan.FP32Layer]
    }

    /// `--fp32-layers` as plan options: pattern → why.
    func namedLayers() throws -> [String: String] {
        guard let fp32Layers else { return [:] }
        if fp32Layers.lowercased().hasSuffix(".json") {
            let choice: Choice
            do {
                choice = try JSONDecoder().decode(Choice.self, from: Data(contentsOf: URL(fileURLWithPath: fp32Layers)))
            } catch {
                throw CLIError.invalidOption(
                    "--fp32-layers \(fp32Layers) is not a precision choice written by --save-precision (\(error.localizedDescription))"
                )
            }
            return Dictionary(choice.fp32Layers.map { ($0.name, "chosen in \(fp32Layers): \($0.reason)") }) { first, _ in first }
        }
        let patterns = fp32Layers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return Dictionary(patterns.map { ($0, "named by --fp32-layers") }) { first, _ in first }
    }

    /// The calibration batch: `--calibration`, else `fallback`.
    func calibrationInput(fallback: Tensor) throws -> Tensor {
        guard let calibration else { return fallback }
        let tensor = try NumpyFile.read(path: calibration)
        guard tensor.shape.count == 4, tensor.shape[1] == 3, tensor.shape[0] > 0, tensor.shape[2] >= 32, tensor.shape[3] >= 32,
            tensor.data.allSatisfy(\.isFinite)
        else {
            throw InputError.invalidArray(
                path: calibration,
                reason: "shape \(tensor.shape) is not [N, 3, H, W] with H, W >= 32, or it holds NaN or infinity")
        }
        return tensor
    }

    /// Runs the search for `engine` and returns an engine that keeps the chosen layers in fp32,
    /// after printing the choice on stderr and saving it when asked.
    func searched(_ engine: InferenceEngine, calibration: Tensor, tolerance: Float) throws -> (
        InferenceEngine, MixedPrecisionSearch
    ) {
        let search = try MixedPrecisionSearch(engine: engine, calibration: calibration, tolerance: tolerance)
        for line in Self.describe(search) { printErr("senet-gpu: \(line)") }
        if let savePrecision {
            let plain: (Float?, String?)
            switch search.plainFP16 {
            case .logitsRelativeError(let error): plain = (error, nil)
            case .failed(let why): plain = (nil, why)
            }
            let choice = Choice(
                device: search.mixed.deviceName, tolerance: tolerance, plainFP16LogitsRelativeError: plain.0,
                plainFP16Failure: plain.1, mixedLogitsRelativeError: search.mixed.logits.relativeError,
                fp32Layers: search.fp32Layers)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(choice).write(to: URL(fileURLWithPath: savePrecision), options: .atomic)
        }
        var options = engine.options
        options.fp32Layers.merge(search.fp32Layers.map { ($0.name, $0.reason) }) { named, _ in named }
        return (InferenceEngine(model: engine.model, runtime: engine.runtime, options: options), search)
    }

    /// The search's outcome for people, one line each.
    static func describe(_ search: MixedPrecisionSearch) -> [String] {
        let plain: String
        switch search.plainFP16 {
        case .logitsRelativeError(let error):
            plain = String(
                format: "plain fp16 logits relative error %.2e (%@)", error, error <= search.mixed.tolerance ? "passes" : "fails")
        case .failed(let why): plain = "plain fp16 cannot run: \(why)"
        }
        var lines = [
            "auto precision on \(search.mixed.images) calibration images: \(plain); "
                + String(
                    format: "mixed %.2e with %d layers kept in fp32 (bound %.1e, %d comparison rounds)",
                    search.mixed.logits.relativeError, search.fp32Layers.count, search.mixed.tolerance, search.rounds)
        ]
        lines += search.fp32Layers.map { "  fp32 \($0.name): \($0.reason)" }
        return lines
    }
}
