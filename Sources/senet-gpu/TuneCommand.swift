import ArgumentParser
import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Time tile sizes for each convolution of a model on a device and keep the fastest.",
        discussion:
            "With --precision fp16, fp16 shapes are tuned (their own entries), with half arithmetic among the candidates on devices that have it (--arithmetic fp32 leaves it out, fp16 tries only it). Each candidate is checked against the CPU reference on an output filled with NaN before it is timed, and the whole tuned network is checked against the reference before the table is saved. Winners are stored per device, driver and kernel sources beside the kernel cache; later `infer`, `bench` and `compare` runs use them."
    )

    @OptionGroup var engineOptions: EngineOptions

    @OptionGroup var modelOptions: ModelOptions

    func run() throws {
        do {
            let (model, _) = try modelOptions.loadModel()
            let input = try modelOptions.loadInput()
            guard let runtime = try engineOptions.openRuntime() else {
                throw CLIError.invalidOption("tune needs an OpenCL device, not `--device cpu`")
            }
            guard let path = TuningTable.path(for: runtime.device, cacheDirectory: runtime.programs.directory) else {
                throw CLIError.invalidOption("tune stores its results in the kernel cache; it cannot run with the cache off")
            }
            let (stored, warnings) = TuningTable.load(from: path, for: runtime)
            for warning in warnings { printErr("senet-gpu: warning: \(warning)") }
            var table = try stored ?? TuningTable(for: runtime)
            let shapes = try NetworkGraph(model: model, inputShape: input.shape).convolutions
            try engineOptions.checkPrecision()
            if engineOptions.precision == .int8 {
                throw CLIError.invalidOption(
                    "tune times fp32 and fp16 convolutions; the int8 kernels have no tilings to tune yet")
            }
            let family = engineOptions.family ?? .forDevice(runtime.device)
            let (precision, arithmetic) = (engineOptions.precision, engineOptions.arithmetic)
            if precision == .fp16 && arithmetic == .fp16 && !runtime.device.supportsFP16 {
                throw EngineError.halfArithmeticUnsupported(device: runtime.device.description)
            }
            var seen: Set<ConvShapeKey> = []
            print(
                "tuning \(model.architecture.modelName) convolutions (\(family) kernels, \(precision)) for input \(input.shape) on \(runtime.device)"
            )
            for (name, geometry) in shapes {
                let key = ConvShapeKey(geometry, precision: precision, family: family)
                guard seen.insert(key).inserted else { continue }
                let context = LoweringContext(
                    runtime: runtime, family: family, precision: precision, arithmetic: arithmetic,
                    winograd: !engineOptions.noWinograd)
                let result = try ConvTuner.tune(geometry, context: context)
                table.entries[key] = result.best
                let line = Self.describe(result)
                print("  \(name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(line)")
            }
            let error = try ConvTuner.verifyNetwork(
                model, inputShape: input.shape, runtime: runtime, family: family, table: table, precision: precision)
            print(String(format: "whole tuned network vs the CPU reference: relative error %.2e", error))
            try table.save(to: path)
            let gpu = table.entries.keys.filter { $0.family == .gpu }.count
            print("saved \(table.entries.count - gpu) CPU-family and \(gpu) GPU-family shapes to \(path.path)")
        } catch { throw SENetGPUCommand.fail(error) }
    }

    /// One shape's line: key, winner, its time and its speed-up over the default tiling.
    static func describe<Tiling>(_ result: ConvTuner.Result<Tiling>) -> String {
        result.key.padding(toLength: 40, withPad: " ", startingAt: 0) + " "
            + String(
                format: "%@  %.3f ms (%.2fx default)", result.best.description, result.bestSeconds * 1e3,
                result.defaultSeconds / result.bestSeconds)
            + (result.rejected.isEmpty ? "" : "  rejected as wrong: \(result.rejected)")
    }
}
