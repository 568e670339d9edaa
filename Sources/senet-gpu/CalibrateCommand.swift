import ArgumentParser
import Foundation
import SENetCore
import SENetEngine

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract:
            "Measure an int8 calibration: weight scales per output channel, and each int8 op's input scale from calibration data.",
        discussion: """
            Runs --input (images, preprocessed as infer does, or one normalised .npy; default: the seeded synthetic \
            input of --batch and --size) through the fp32 network on --device, records the magnitudes of every feature \
            map an int8 op reads, and keeps per map the clip (max, p99.999, p99.99 or p99.9) whose int8 error is \
            smallest. Every op is listed with int8 or fp32 and why. See docs/PRECISION.md.
            """)

    @OptionGroup var engineOptions: EngineOptions

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "The calibration file to write (JSON).")
    var out: String

    @Option(help: "Images run at once while calibrating.")
    var calibrationBatch = 8

    func run() throws {
        do {
            guard engineOptions.precision == .fp32 else {
                throw CLIError.invalidOption("calibrate measures fp32 feature maps; drop --precision \(engineOptions.precision)")
            }
            guard (1...256).contains(calibrationBatch) else {
                throw CLIError.invalidOption("--calibration-batch \(calibrationBatch) is not between 1 and 256")
            }
            // Checked before the minutes of calibration, not after.
            let folder = URL(fileURLWithPath: out).deletingLastPathComponent().path
            guard FileManager.default.isWritableFile(atPath: folder) else {
                throw CLIError.invalidOption("--out \(out): the folder \(folder) does not exist or is not writable")
            }
            let (model, synthetic) = try modelOptions.loadModel()
            let input = try modelOptions.loadInput()
            let engine = try engineOptions.engine(for: model)
            // After the inputs are known good: a bad request gets its one error line alone.
            if synthetic {
                printErr("senet-gpu: warning: SYNTHETIC seeded weights (not trained); pass --weights for a real calibration")
            }
            let images = input.shape[0]
            let perImage = input.count / images
            let batches = stride(from: 0, to: images, by: calibrationBatch).map { start in
                let end = min(start + calibrationBatch, images)
                return Tensor(
                    shape: [end - start] + input.shape.dropFirst(), data: Array(input.data[(start * perImage)..<(end * perImage)])
                )
            }
            let origin = modelOptions.input.isEmpty ? "synthetic seeded input" : modelOptions.input.joined(separator: " ")
            let calibration = try Int8Calibrator.calibrate(engine: engine, batches: batches, origin: origin)
            do {
                try calibration.encoded().write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw CLIError.invalidOption("--out \(out) cannot be written: \(error.localizedDescription)")
            }
            print(Self.describe(calibration))
        } catch let error as ExitCode {
            throw error
        } catch { throw SENetGPUCommand.fail(error) }
    }

    /// One line per op: int8 ops with their input clip and errors, fp32 ops with why.
    static func describe(_ calibration: Int8Calibration) -> String {
        let int8 = calibration.ops.filter { $0.precision == .int8 }
        var lines = [
            "\(calibration.model): \(int8.count) int8 ops, \(calibration.ops.count - int8.count) fp32, calibrated on \(calibration.calibration.images) images"
        ]
        for op in calibration.ops {
            if op.precision == .int8 {
                lines.append(
                    String(
                        format: "  int8 %@ %@: input scale %.4g (%@, error %.2e%@), weight error %.2e", op.name, op.kind,
                        op.inputScale ?? 0, op.inputMethod ?? "?", op.inputError ?? 0,
                        op.inputNonNegative == true ? ", non-negative" : "", op.weightError ?? 0))
            } else {
                lines.append("  fp32 \(op.name) \(op.kind): \(op.reason)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
