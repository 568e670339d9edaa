import ArgumentParser
import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run a device and the CPU reference on the same input and compare every layer.",
        discussion:
            "Exits 1 when the logits or the probabilities differ by more than --tolerance (relative to the largest reference value) and names the first layer over it. With --precision fp16 the device stores half and the reference stays fp32; the default tolerance is then 2e-2 (see docs/PRECISION.md). With --precision int8 the reference is the same int8 graph on the CPU (the same codes and integer sums), tolerance 1e-3. --auto-precision first finds the layers to keep in fp32 (calibrated on this input unless --calibration names another)."
    )

    @OptionGroup var engineOptions: EngineOptions

    @OptionGroup var modelOptions: ModelOptions

    @Option(
        help:
            "Largest relative error accepted (max |device - reference| / max |reference|); default 1e-4, 2e-2 in fp16, 1e-3 in int8."
    )
    var tolerance: Float?

    @Flag(help: "Compare every OpenCL device on the host, one summary row each.")
    var allDevices = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(
        help:
            "Also write a static HTML page that charts each layer's error against the tolerance (written whether or not the comparison passes)."
    )
    var report: String?

    struct Summary: Encodable {
        struct Layer: Encodable {
            let name, kind: String
            let onDevice: Bool
            let maxAbsoluteError, relativeError: Float
        }
        let device: String
        let precision: String
        let tolerance: Float
        /// Images whose top-1 class is the reference's, out of the batch.
        let top1Agreement: Int, images: Int
        let logitsRelativeError: Float
        let probabilitiesRelativeError: Float
        let firstDivergingLayer: String?
        let passed: Bool
        /// Layers an fp16 plan kept in fp32, with why (--fp32-layers, --auto-precision).
        let fp32Layers: [ExecutionPlan.FP32Layer]
        let layers: [Layer]
    }

    func run() throws {
        var summaries: [Summary] = []
        do {
            let (model, _) = try modelOptions.loadModel()
            let input = try modelOptions.loadInput()
            let indices: [String]
            if allDevices {
                let devices = try CLDevice.all()
                if devices.isEmpty { throw EngineError.noOpenCLPlatform }
                indices = devices.map { "\($0.index)" }
            } else {
                indices = [engineOptions.device]
            }
            for index in indices {
                var options = engineOptions
                options.device = index
                let engine = try options.engine(for: model, calibration: input, tolerance: tolerance)
                let plan = try engine.plan(for: input.shape)
                let result = try LayerComparison(plan: plan, input: input, tolerance: tolerance ?? plan.precision.tolerance)
                summaries.append(summary(result, fp32Layers: plan.fp32Layers))
                if !json && !allDevices { printTable(result, fp32Layers: plan.fp32Layers) }
            }
            if let report {
                try ComparisonReport.html(summaries).write(toFile: report, atomically: true, encoding: .utf8)
            }
        } catch { throw SENetGPUCommand.fail(error) }

        if json {
            try printJSON(allDevices ? AnyEncodable(summaries) : AnyEncodable(summaries[0]))
        } else if allDevices {
            print("device".padding(toLength: 72, withPad: " ", startingAt: 0) + "logits rel err  first diverging layer")
            for s in summaries {
                print(
                    s.device.padding(toLength: 72, withPad: " ", startingAt: 0)
                        + String(format: "%.2e", s.logitsRelativeError).padding(toLength: 16, withPad: " ", startingAt: 0)
                        + (s.firstDivergingLayer ?? "none") + (s.passed ? "" : "  FAIL"))
            }
        }
        if summaries.contains(where: { !$0.passed }) { throw ExitCode.failure }
    }

    private func summary(_ result: LayerComparison, fp32Layers: [ExecutionPlan.FP32Layer]) -> Summary {
        Summary(
            device: result.deviceName, precision: result.precision.rawValue, tolerance: result.tolerance,
            top1Agreement: result.top1Agreement, images: result.images, logitsRelativeError: result.logits.relativeError,
            probabilitiesRelativeError: result.probabilities.relativeError,
            firstDivergingLayer: result.firstDiverging?.name, passed: result.passed, fp32Layers: fp32Layers,
            layers: result.rows.map {
                .init(
                    name: $0.name, kind: $0.kind.rawValue, onDevice: $0.onDevice,
                    maxAbsoluteError: $0.comparison.maxAbsoluteError,
                    relativeError: $0.comparison.relativeError)
            })
    }

    private func printTable(_ result: LayerComparison, fp32Layers: [ExecutionPlan.FP32Layer]) {
        let mixed = fp32Layers.isEmpty ? "" : ", \(fp32Layers.count) layers kept in fp32"
        // An int8 plan's oracle is its own graph on the CPU: the same codes, the same integer sums.
        let reference = result.precision == .int8 ? "the CPU reference of the same int8 graph" : "the fp32 CPU reference"
        print(
            "compare \(result.deviceName) (\(result.precision)\(mixed)) against \(reference), tolerance \(result.tolerance) relative"
        )
        for layer in fp32Layers { print("  fp32 \(layer.name): \(layer.reason)") }
        // ONNX node names run long (`/layer1/layer1.0/se/fc1/Conv`): the column fits the longest.
        let width = max(26, (result.rows.map(\.name.count).max() ?? 0) + 2)
        print("layer".padding(toLength: width, withPad: " ", startingAt: 0) + "kind            where   max abs err   rel err")
        for row in result.rows {
            let mark = row.comparison.passes(tolerance: result.tolerance) ? "" : "  over tolerance"
            print(
                row.name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + row.kind.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + (row.onDevice ? "device  " : "cpu     ")
                    + String(format: "%.3e     %.3e", row.comparison.maxAbsoluteError, row.comparison.relativeError) + mark)
        }
        if let first = result.firstDiverging {
            print(
                "first layer over tolerance: \(first.name) (\(first.kind.rawValue)), relative error \(first.comparison.relativeError)"
            )
        }
        print("top-1 class: \(result.top1Agreement) of \(result.images) images agree with the reference")
        print(
            String(
                format: "logits: relative error %.3e, probabilities %.3e: ", result.logits.relativeError,
                result.probabilities.relativeError) + (result.passed ? "PASS" : "FAIL (over \(result.tolerance))"))
    }
}

/// Lets one `printJSON` call print either a value or an array.
struct AnyEncodable: Encodable {
    private let encodeValue: (Encoder) throws -> Void
    init<T: Encodable>(_ value: T) { encodeValue = value.encode }
    func encode(to encoder: Encoder) throws { try encodeValue(encoder) }
}
