import SENetCore
import SENetEngine

/// What a device worker runs batches on: an `InferenceEngine` on an OpenCL device, or a
/// stand-in, so the routes, batching and error mapping can be tested in-process without one.
public protocol InferenceBackend: Sendable {
    /// Logits and probabilities, [N, classes] each, of `input` [N, 3, H, W].
    func infer(_ input: Tensor) throws -> (logits: Tensor, probabilities: Tensor)
    /// Plans kept and plans dropped so far, for /metrics; nil for a backend without plans.
    var planCache: (kept: Int, dropped: Int)? { get }
}

extension InferenceBackend {
    public var planCache: (kept: Int, dropped: Int)? { nil }
}

extension InferenceEngine: InferenceBackend {
    public var planCache: (kept: Int, dropped: Int)? {
        let cached = cachedPlans
        return (cached.shapes.count, cached.dropped)
    }

    public func infer(_ input: Tensor) throws -> (logits: Tensor, probabilities: Tensor) {
        let output = try run(input)
        return (output.logits, output.probabilities)
    }
}
