import Foundation
import InferenceProto

/// Triton's statistics extension for the served model: request counts and cumulative
/// durations by phase, and one row per batch size the devices ran. Thread-safe: the routes
/// record requests, the device workers record batches.
final class ModelStatistics: @unchecked Sendable {
    /// A count of events and the nanoseconds they took in all (Triton's `duration_stat`).
    struct Duration: Equatable, Sendable {
        var count = 0
        var nanoseconds: UInt64 = 0

        mutating func add(_ nanoseconds: UInt64) {
            count += 1
            self.nanoseconds &+= nanoseconds
        }
    }

    /// One request's phases, measured by the route and the worker that ran its batch.
    struct RequestTiming: Sendable {
        var total: UInt64
        var input: UInt64
        var queue: UInt64
        var infer: UInt64
        var output: UInt64
    }

    /// One executed batch's phases.
    struct BatchTiming: Sendable {
        var input: UInt64
        var infer: UInt64
        var output: UInt64
    }

    struct Snapshot: Sendable {
        var success = Duration()
        var fail = Duration()
        var queue = Duration()
        var computeInput = Duration()
        var computeInfer = Duration()
        var computeOutput = Duration()
        /// Images run in successful batches (Triton's inference_count, padding not counted).
        var inferences = 0
        /// Successful batches (Triton's execution_count).
        var executions = 0
        /// Milliseconds since 1970 when the last successful batch finished; 0 before any.
        var lastInferenceMilliseconds: UInt64 = 0
        /// By batch size: (input, infer, output) durations of the batches of that many images.
        var batches: [Int: (input: Duration, infer: Duration, output: Duration)] = [:]
    }

    private let lock = NSLock()
    private var values = Snapshot()

    var snapshot: Snapshot { lock.withLock { values } }

    func succeeded(_ timing: RequestTiming) {
        lock.withLock {
            values.success.add(timing.total)
            values.queue.add(timing.queue)
            values.computeInput.add(timing.input)
            values.computeInfer.add(timing.infer)
            values.computeOutput.add(timing.output)
        }
    }

    func failed(nanoseconds: UInt64) {
        lock.withLock { values.fail.add(nanoseconds) }
    }

    func batchRan(images: Int, timing: BatchTiming) {
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        lock.withLock {
            values.inferences += images
            values.executions += 1
            values.lastInferenceMilliseconds = now
            var row = values.batches[images] ?? (Duration(), Duration(), Duration())
            row.input.add(timing.input)
            row.infer.add(timing.infer)
            row.output.add(timing.output)
            values.batches[images] = row
        }
    }

    /// `GET /v2/models/NAME/stats` (and `/v2/models/stats`) in Triton's field names.
    func json(model: String, version: String) -> String {
        let s = snapshot
        func duration(_ d: Duration) -> String { "{\"count\":\(d.count),\"ns\":\(d.nanoseconds)}" }
        let zero = duration(Duration())
        let batches = s.batches.keys.sorted().map { size in
            let row = s.batches[size]!
            return "{\"batch_size\":\(size),\"compute_input\":\(duration(row.input)),"
                + "\"compute_infer\":\(duration(row.infer)),\"compute_output\":\(duration(row.output))}"
        }
        let inference =
            "{\"success\":\(duration(s.success)),\"fail\":\(duration(s.fail)),\"queue\":\(duration(s.queue)),"
            + "\"compute_input\":\(duration(s.computeInput)),\"compute_infer\":\(duration(s.computeInfer)),"
            + "\"compute_output\":\(duration(s.computeOutput)),\"cache_hit\":\(zero),\"cache_miss\":\(zero)}"
        let quoted = InferResponseEncoder.quoted
        return "{\"model_stats\":[{\"name\":\(quoted(model)),\"version\":\(quoted(version)),"
            + "\"last_inference\":\(s.lastInferenceMilliseconds),\"inference_count\":\(s.inferences),"
            + "\"execution_count\":\(s.executions),\"inference_stats\":\(inference),"
            + "\"batch_stats\":[\(batches.joined(separator: ","))],\"memory_usage\":[]}]}"
    }
}

extension ModelStatistics {
    /// gRPC's ModelStatistics: the same numbers as the JSON.
    func message(model: String, version: String) -> Inference_ModelStatistics {
        let s = snapshot
        func duration(_ d: Duration) -> Inference_StatisticDuration {
            .with {
                $0.count = UInt64(d.count)
                $0.ns = d.nanoseconds
            }
        }
        return .with { stats in
            stats.name = model
            stats.version = version
            stats.lastInference = s.lastInferenceMilliseconds
            stats.inferenceCount = UInt64(s.inferences)
            stats.executionCount = UInt64(s.executions)
            stats.inferenceStats = .with {
                $0.success = duration(s.success)
                $0.fail = duration(s.fail)
                $0.queue = duration(s.queue)
                $0.computeInput = duration(s.computeInput)
                $0.computeInfer = duration(s.computeInfer)
                $0.computeOutput = duration(s.computeOutput)
                $0.cacheHit = duration(Duration())
                $0.cacheMiss = duration(Duration())
            }
            stats.batchStats = s.batches.keys.sorted().map { size in
                let row = s.batches[size]!
                return .with {
                    $0.batchSize = UInt64(size)
                    $0.computeInput = duration(row.input)
                    $0.computeInfer = duration(row.infer)
                    $0.computeOutput = duration(row.output)
                }
            }
        }
    }
}

extension DispatchTime {
    /// Nanoseconds from `self` to now.
    var nanosecondsUntilNow: UInt64 { DispatchTime.now().uptimeNanoseconds &- uptimeNanoseconds }
}
