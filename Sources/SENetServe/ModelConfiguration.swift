import Foundation

extension ServedModel {
    /// `GET /v2/models/NAME/config`: Triton's model configuration in its JSON field names, so
    /// Triton's tools (`tritonclient`'s `get_model_config`, model analyzers) read the batching
    /// limits and tensors they expect. Both inputs are `optional`: a request sends exactly one.
    /// With `max_batch_size` set, `dims` leave out the batch dimension, as in Triton; the image
    /// input is one file per batch row (`dims [1]`, reshaped to none: `[N]` on the wire).
    func configurationJSON(batch: BatchSettings, devices: [String]) -> String {
        let quoted = InferResponseEncoder.quoted
        let (height, width) = inputSide
        func tensor(_ name: String, _ type: String, _ dims: String, _ extra: String = "") -> String {
            "{\"name\":\(quoted(name)),\"data_type\":\"\(type)\",\"dims\":[\(dims)]\(extra)}"
        }
        let inputs = [
            tensor(Self.tensorInput, "TYPE_FP32", "3,\(height),\(width)", ",\"format\":\"FORMAT_NCHW\",\"optional\":true"),
            tensor(Self.imageInput, "TYPE_STRING", "1", ",\"reshape\":{\"shape\":[]},\"optional\":true"),
        ]
        let outputs = [
            tensor("logits", "TYPE_FP32", "\(classes)"), tensor("probabilities", "TYPE_FP32", "\(classes)"),
            tensor("labels", "TYPE_STRING", "-1"),
        ]
        let groups = devices.map { "{\"name\":\(quoted($0)),\"kind\":\"KIND_MODEL\",\"count\":1}" }
        let delay = Int((batch.windowSeconds * 1e6).rounded())
        return "{\"name\":\(quoted(name)),\"platform\":\"senet-gpu\",\"backend\":\"senet-gpu\","
            + "\"version_policy\":{\"latest\":{\"num_versions\":1}},\"max_batch_size\":\(maxBatch),"
            + "\"input\":[\(inputs.joined(separator: ","))],\"output\":[\(outputs.joined(separator: ","))],"
            + "\"dynamic_batching\":{\"preferred_batch_size\":[\(batch.planBatches.map(String.init).joined(separator: ","))],"
            + "\"max_queue_delay_microseconds\":\(delay),\"default_queue_policy\":{\"timeout_action\":\"REJECT\","
            + "\"default_timeout_microseconds\":\(Int((batch.timeoutSeconds * 1e6).rounded())),"
            + "\"max_queue_size\":\(batch.maxQueue)}},"
            + "\"instance_group\":[\(groups.joined(separator: ","))]}"
    }
}
