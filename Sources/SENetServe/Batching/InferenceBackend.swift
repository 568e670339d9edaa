import SENetCore
import SENetEngine

/// What a device worker runs batches on: an `InferenceEngine` on an OpenCL device, or a
/// stand-in, so the routes, batching and error mapping can be tested in-process without one.
public protocol InferenceBackend: Sendable {
    /// Logits and probabilities, [N, classes] each, of `input` [N, 3, H, W].
    func infer(_ input: Tensor) throws -> (logits: Tensor, probabilities: Tensor)
}

extension InferenceEngine: InferenceBackend {
    public func infer(_ input: Tensor) throws -> (logits: Tensor, probabilities: Tensor) {
        let output = try run(input)
        return (output.logits, output.probabilities)
    }
}
