import Foundation
import SENetCore

/// Automatic mixed precision: which layers of an fp16 plan must stay fp32 for the logits to
/// stay within the fp16 tolerance of the fp32 reference on calibration inputs.
///
/// Three rules, each recorded with the number that triggered it:
/// 1. a layer whose weight matrices (as the device packs them) pass half's 65504 keeps fp32 weights;
/// 2. a feature map whose fp32 reference reaches half of 65504 on the calibration inputs
///    (headroom for inputs the calibration did not see) is never stored as half: its producer
///    and every reader run in fp32;
/// 3. then, while the logits miss the bound, each layer's own error is measured (its device
///    output against the reference op on the device's own inputs): every layer over the bound is
///    kept in fp32, or when none is, the one that adds the most, until the logits pass or
///    `maxRounds` is spent.
public struct MixedPrecisionSearch: Sendable {
    /// The layers kept in fp32, in graph order, each with why.
    public let fp32Layers: [ExecutionPlan.FP32Layer]
    /// Plain fp16 on the calibration inputs: its logits' relative error, or why it cannot run.
    public let plainFP16: Result
    /// The mixed plan's comparison on the calibration inputs.
    public let mixed: LayerComparison
    /// Comparison rounds run (rule 3), the first included.
    public let rounds: Int

    public enum Result: Sendable {
        case logitsRelativeError(Float)
        case failed(String)
    }

    /// Half's largest finite value, and the share of it a calibration value may reach.
    static let halfLargest = Float(Float16.greatestFiniteMagnitude)
    static let headroom: Float = 0.5

    /// Searches for `engine` (fp16, on a device) on `calibration` [N, 3, H, W].
    public init(engine: InferenceEngine, calibration: Tensor, tolerance: Float, maxRounds: Int = 16) throws {
        guard let runtime = engine.runtime, let weights = engine.deviceModel, engine.options.precision == .fp16 else {
            throw EngineError.autoPrecisionNeedsHalf
        }
        let graph = try NetworkGraph(model: engine.model, inputShape: calibration.shape)
        var options = engine.options
        // Layers named by the caller stay kept; the search adds to them.
        let named = engine.options.fp32Layers
        func plan(_ kept: [String: String]) throws -> ExecutionPlan {
            options.fp32Layers = named.merging(kept) { mine, _ in mine }
            return try ExecutionPlan(graph: graph, runtime: runtime, weights: weights, options: options, tuning: engine.tuning)
        }
        var plain: LayerComparison?
        do {
            plain = try LayerComparison(plan: try plan([:]), input: calibration, tolerance: tolerance)
            plainFP16 = .logitsRelativeError(plain!.logits.relativeError)
        } catch let error as EngineError {
            plainFP16 = .failed(error.description)
        }
        let context = ExecutionPlan.loweringContext(runtime: runtime, options: engine.options, tuning: engine.tuning)
        var kept = Self.weightsPastHalf(graph, context: context)
        for (name, reason) in Self.featureMapsPastHalf(graph, calibration: calibration) where kept[name] == nil {
            kept[name] = reason
        }
        var rounds = 0
        var comparison: LayerComparison
        while true {
            rounds += 1
            let current = try plan(kept)
            // With nothing kept the plan is plain fp16's, compared already.
            comparison =
                try kept.isEmpty
                ? plain ?? LayerComparison(plan: current, input: calibration, tolerance: tolerance)
                : LayerComparison(plan: current, input: calibration, tolerance: tolerance)
            if comparison.passed { break }
            let culprits = Self.culprits(try Self.ownErrors(current, calibration: calibration), kept: kept, tolerance: tolerance)
            guard rounds < maxRounds, !culprits.isEmpty else {
                throw EngineError.autoPrecisionFailed(
                    kept: kept.count, logitsError: comparison.logits.relativeError, tolerance: tolerance)
            }
            for (name, own) in culprits {
                kept[name] = String(
                    format: "in fp16 it adds %.2e relative error of its own on the calibration inputs (bound %.1e)", own,
                    tolerance)
            }
        }
        let order = Dictionary(uniqueKeysWithValues: graph.nodes.enumerated().map { ($1.name, $0) })
        fp32Layers = kept.sorted { order[$0.key]! < order[$1.key]! }.map { .init(name: $0.key, reason: $0.value) }
        mixed = comparison
        self.rounds = rounds
    }

    /// Rule 3's choice: every layer whose own error passes the bound, else the one that adds the
    /// most; empty when every candidate is kept already.
    static func culprits(_ own: [(name: String, error: Float)], kept: [String: String], tolerance: Float) -> [(String, Float)] {
        let candidates = own.filter { kept[$0.name] == nil }
        let over = candidates.filter { !($0.error <= tolerance) }
        if !over.isEmpty { return over.map { ($0.name, $0.error) } }
        return candidates.max { $0.error < $1.error }.map { [($0.name, $0.error)] } ?? []
    }

    /// Each device layer's own error, in graph order: its device output against the reference
    /// op run on the device's own inputs (read back as fp32), so what earlier layers did is not
    /// counted again. Casts and CPU ops are left out.
    static func ownErrors(_ plan: ExecutionPlan, calibration: Tensor) throws -> [(name: String, error: Float)] {
        var outputs: [Int: Tensor] = [plan.graph.input: calibration]
        _ = try plan.run(calibration) { node, tensor in outputs[node.output] = tensor }
        let onDevice = Set(plan.placements.filter(\.onDevice).map(\.name))
        return plan.graph.nodes.compactMap { node in
            guard onDevice.contains(node.name), node.kind != Cast.kind, let actual = outputs[node.output],
                let inputs = Optional(node.inputs.compactMap { outputs[$0] }), inputs.count == node.inputs.count
            else { return nil }
            let error = Comparison(actual: actual, expected: node.op.reference(inputs)).relativeError
            return (node.name, error)
        }
    }

    /// Rule 1: device ops whose packed weight matrices would overflow half.
    static func weightsPastHalf(_ graph: NetworkGraph, context: LoweringContext) -> [String: String] {
        var kept: [String: String] = [:]
        for node in graph.nodes {
            guard let op = node.op as? any DeviceLowerable else { continue }
            // The tensors DeviceModel would store as half, checked as it checks them.
            let largest =
                op.deviceParameters(context).filter { DeviceModel.element(of: $0, .fp16) == .float16 }
                .map { DeviceModel.pastHalf($0).largest }.max() ?? 0
            if largest > 0 {
                kept[node.name] = String(format: "its weights reach %.3g, past half's largest 65504", largest)
            }
        }
        return kept
    }

    /// Rule 2: producers and readers of feature maps whose reference passes the headroom.
    static func featureMapsPastHalf(_ graph: NetworkGraph, calibration: Tensor) -> [(String, String)] {
        var largest: [String: Float] = [:]
        _ = graph.runReference(calibration) { node, output in
            if output.shape.count == 4 { largest[node.name] = output.data.reduce(Float(0)) { max($0, abs($1)) } }
        }
        var kept: [(String, String)] = []
        let limit = halfLargest * headroom
        for (index, node) in graph.nodes.enumerated() {
            guard let peak = largest[node.name], peak > limit else { continue }
            let reaches = String(format: "reaches %.3g on the calibration inputs, past %.0f (half of fp16's 65504)", peak, limit)
            kept.append((node.name, "its output \(reaches)"))
            for reader in graph.nodes[(index + 1)...] where reader.inputs.contains(node.output) {
                kept.append((reader.name, "it reads \(node.name), whose output \(reaches)"))
            }
        }
        return kept
    }
}
