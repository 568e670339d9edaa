import Foundation
import SENetCore

/// The public entry point: one network on one device (or the CPU reference), with its weights
/// uploaded to the device once and a plan per input shape built on first use and kept.
///
/// Thread safety: an engine may be shared by threads and tasks; plans are created under a lock
/// and each plan serialises its own runs, so concurrent calls give the same results as
/// sequential ones.
public final class InferenceEngine: @unchecked Sendable {
    public let model: SEResNet
    /// nil runs every op on the CPU reference.
    public let runtime: DeviceRuntime?
    public let options: PlanOptions
    /// The model's weights on the device, shared by every plan; nil on the CPU.
    public let deviceModel: DeviceModel?
    /// Tile sizes found by the tuner for this device, if any.
    public let tuning: TuningTable?
    /// Where `tuning` came from (or would be written).
    public let tuningPath: URL?
    /// Why the stored tuning table, or some of its entries, were not used.
    public let tuningWarnings: [String]
    private var plans: [[Int]: ExecutionPlan] = [:]
    /// Shapes of `plans`, least recently used first.
    private var recency: [[Int]] = []
    private var limit: Int?
    private var evicted = 0
    private let lock = NSLock()

    public init(model: SEResNet, runtime: DeviceRuntime?, options: PlanOptions = PlanOptions()) {
        self.model = model
        self.runtime = runtime
        self.options = options
        deviceModel = runtime.map { DeviceModel(runtime: $0, precision: options.precision, tensorNames: model.weightNames) }
        if let runtime {
            tuningPath = TuningTable.path(for: runtime.device, cacheDirectory: runtime.programs.directory)
            (tuning, tuningWarnings) = TuningTable.load(from: tuningPath, for: runtime)
        } else {
            (tuningPath, tuning, tuningWarnings) = (nil, nil, [])
        }
    }

    /// Keeps at most `count` plans (each holds its activations on the device): a new shape past
    /// it drops the least recently used plan. Unbounded by default, for a fixed set of shapes.
    public func keepPlans(atMost count: Int) {
        precondition(count >= 1, "an engine keeps at least one plan")
        lock.withLock {
            limit = count
            evictPastLimit()
        }
    }

    /// The shapes with a plan kept, least recently used first, and how many plans were dropped.
    public var cachedPlans: (shapes: [[Int]], dropped: Int) { lock.withLock { (recency, evicted) } }

    /// The plan for inputs of `shape` [N, 3, H, W], built (kernels compiled or loaded) on first use.
    public func plan(for shape: [Int]) throws -> ExecutionPlan {
        try lock.withLock {
            if let plan = plans[shape] {
                recency.removeAll { $0 == shape }
                recency.append(shape)
                return plan
            }
            let graph = try NetworkGraph(model: model, inputShape: shape)
            let plan = try ExecutionPlan(graph: graph, runtime: runtime, weights: deviceModel, options: options, tuning: tuning)
            plans[shape] = plan
            recency.append(shape)
            evictPastLimit()
            return plan
        }
    }

    /// A plan dropped while a caller still runs it lives until that run returns.
    private func evictPastLimit() {
        guard let limit else { return }
        while recency.count > limit {
            plans[recency.removeFirst()] = nil
            evicted += 1
        }
    }

    /// Logits and probabilities for `input` [N, 3, H, W].
    public func run(_ input: Tensor, observe: ((GraphNode, Tensor) -> Void)? = nil) throws -> ExecutionPlan.Output {
        try plan(for: input.shape).run(input, observe: observe)
    }
}
