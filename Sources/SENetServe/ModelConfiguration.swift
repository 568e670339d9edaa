import Foundation
import InferenceProto

extension ServedModel {
    /// Triton's model configuration: what `GET /v2/models/NAME/config` and gRPC's ModelConfig
    /// answer, so Triton's tools (`get_model_config`, model analyzers) read the batching limits
    /// and tensors they expect. Both inputs are `optional`: a request sends exactly one. With
    /// `max_batch_size` set, `dims` leave out the batch dimension, as in Triton; the image input
    /// is one file per batch row (`dims [1]`, reshaped to none: `[N]` on the wire).
    func configuration(batch: BatchSettings, devices: [String]) -> Inference_ModelConfig {
        .with { config in
            config.name = name
            config.platform = "senet-gpu"
            config.backend = "senet-gpu"
            config.versionPolicy = .with { $0.latest = .with { $0.numVersions = 1 } }
            config.maxBatchSize = Int32(maxBatch)
            config.input = [
                .with {
                    $0.name = Self.tensorInput
                    $0.dataType = .typeFp32
                    $0.format = .nchw
                    $0.dims = tensorShape.dropFirst().map(Int64.init)
                    $0.optional = true
                },
                .with {
                    $0.name = Self.imageInput
                    $0.dataType = .typeString
                    $0.dims = [1]
                    $0.reshape = .with { $0.shape = [] }
                    $0.optional = true
                },
            ]
            config.output = outputTensors.map { tensor in
                .with {
                    $0.name = tensor.name
                    $0.dataType = tensor.datatype == "FP32" ? .typeFp32 : .typeString
                    $0.dims = tensor.shape.dropFirst().map(Int64.init)
                }
            }
            config.dynamicBatching = .with {
                $0.preferredBatchSize = batch.planBatches.map(Int32.init)
                $0.maxQueueDelayMicroseconds = UInt64((batch.windowSeconds * 1e6).rounded())
                $0.defaultQueuePolicy = .with {
                    $0.timeoutAction = .reject
                    $0.defaultTimeoutMicroseconds = UInt64((batch.timeoutSeconds * 1e6).rounded())
                    $0.maxQueueSize = UInt32(batch.maxQueue)
                }
            }
            config.instanceGroup = devices.map { device in
                .with {
                    $0.name = device
                    $0.kind = .model
                    $0.count = 1
                }
            }
        }
    }

    /// The configuration in Triton's REST JSON: its field names, numbers as numbers.
    func configurationJSON(batch: BatchSettings, devices: [String]) -> String {
        let c = configuration(batch: batch, devices: devices)
        let quoted = InferResponseEncoder.quoted
        func list<T>(_ values: [T]) -> String { "[" + values.map { "\($0)" }.joined(separator: ",") + "]" }
        func type(_ t: Inference_DataType) -> String { t == .typeFp32 ? "\"TYPE_FP32\"" : "\"TYPE_STRING\"" }
        let inputs = c.input.map { input in
            var fields = ["\"name\":\(quoted(input.name))", "\"data_type\":\(type(input.dataType))"]
            if input.format == .nchw { fields.append("\"format\":\"FORMAT_NCHW\"") }
            fields.append("\"dims\":\(list(input.dims))")
            if input.hasReshape { fields.append("\"reshape\":{\"shape\":\(list(input.reshape.shape))}") }
            fields.append("\"optional\":\(input.optional)")
            return "{" + fields.joined(separator: ",") + "}"
        }
        let outputs = c.output.map {
            "{\"name\":\(quoted($0.name)),\"data_type\":\(type($0.dataType)),\"dims\":\(list($0.dims))}"
        }
        let groups = c.instanceGroup.map { "{\"name\":\(quoted($0.name)),\"kind\":\"KIND_MODEL\",\"count\":\($0.count)}" }
        let b = c.dynamicBatching
        let policy = b.defaultQueuePolicy
        let head =
            "{\"name\":\(quoted(c.name)),\"platform\":\(quoted(c.platform)),\"backend\":\(quoted(c.backend)),"
            + "\"version_policy\":{\"latest\":{\"num_versions\":\(c.versionPolicy.latest.numVersions)}},"
            + "\"max_batch_size\":\(c.maxBatchSize),"
        let tensors = "\"input\":[\(inputs.joined(separator: ","))],\"output\":[\(outputs.joined(separator: ","))],"
        let queue: String =
            "\"default_queue_policy\":{\"timeout_action\":\"REJECT\","
            + "\"default_timeout_microseconds\":\(policy.defaultTimeoutMicroseconds),\"max_queue_size\":\(policy.maxQueueSize)}"
        let batching: String =
            "\"dynamic_batching\":{\"preferred_batch_size\":\(list(b.preferredBatchSize)),"
            + "\"max_queue_delay_microseconds\":\(b.maxQueueDelayMicroseconds),\(queue)},"
        return head + tensors + batching + "\"instance_group\":[\(groups.joined(separator: ","))]}"
    }
}
