import ArgumentParser
import Foundation
import SENetGPU

struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer", abstract: "Classify a batch: top-k classes per image, optionally the logits as .npy.")

    @Option(help: "Device index from `senet-gpu devices`, or `cpu` for the Swift reference.")
    var device = "cpu"

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("top"), help: "Classes to show per image.")
    var topK = 5

    @Option(help: "Write the logits [batch, classes] as float32 .npy here.")
    var saveLogits: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    struct Report: Encodable {
        struct Prediction: Encodable {
            let index: Int
            let probability: Float
        }
        let model: String
        let syntheticWeights: Bool
        let device: String
        let inputShape: [Int]
        let images: [[Prediction]]
        let loadSeconds, runSeconds: Double
    }

    func run() throws {
        do {
            let start = Date()
            let (model, synthetic) = try modelOptions.loadModel()
            let input = try modelOptions.loadInput()
            guard device == "cpu" else { throw SENetError.invalidDeviceName(device) }
            let loaded = Date()
            let logits = Reference.forward(model, input: input)
            let finished = Date()
            if let saveLogits { try NumpyFile.write(logits, path: saveLogits) }

            let report = Report(
                model: model.architecture.description, syntheticWeights: synthetic, device: "cpu (Swift reference)",
                inputShape: input.shape, images: topPredictions(logits, k: topK),
                loadSeconds: loaded.timeIntervalSince(start), runSeconds: finished.timeIntervalSince(loaded))
            json ? try printJSON(report) : printText(report)
        } catch let error as ExitCode {
            throw error
        } catch { throw SENetGPUCommand.fail(error) }
    }

    private func printText(_ report: Report) {
        print(
            "model: \(report.model)\(report.syntheticWeights ? ", SYNTHETIC seeded weights (not trained; classes are meaningless)" : "")"
        )
        print("device: \(report.device); input \(report.inputShape)")
        for (index, predictions) in report.images.enumerated() {
            let top = predictions.map { "class \($0.index) \(String(format: "%.4f", $0.probability))" }.joined(separator: ", ")
            print("image \(index): \(top)")
        }
        print(String(format: "time: load %.3f s, run %.3f s", report.loadSeconds, report.runSeconds))
    }
}

/// The `k` most probable classes of each row of `logits` [N, classes], by softmax.
func topPredictions(_ logits: Tensor, k: Int) -> [[InferCommand.Report.Prediction]] {
    let probabilities = Reference.softmax(logits)
    let classes = logits.shape[1]
    return (0..<logits.shape[0]).map { row in
        let values = probabilities.data[(row * classes)..<((row + 1) * classes)]
        return zip(values.indices, values).sorted { $0.1 > $1.1 }.prefix(max(0, k)).map {
            .init(index: $0.0 - row * classes, probability: $0.1)
        }
    }
}
