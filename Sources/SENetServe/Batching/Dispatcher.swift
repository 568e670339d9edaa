import Foundation
import Logging

/// Spreads requests over the devices' workers by load (images waiting or running), and turns
/// requests away with 503 when the queue is full.
final class Dispatcher: @unchecked Sendable {
    let workers: [DeviceWorker]
    let settings: BatchSettings
    private let metrics: ServerMetrics
    private let lock = NSLock()

    init(workers: [DeviceWorker], settings: BatchSettings, metrics: ServerMetrics) {
        (self.workers, self.settings, self.metrics) = (workers, settings, metrics)
    }

    func start() {
        for worker in workers { worker.start() }
    }

    /// Lets every worker finish what it has queued, then returns.
    func drain() {
        for worker in workers { worker.stop() }
        for worker in workers { worker.waitUntilStopped() }
    }

    /// Runs `images` rows of `input` on the least loaded device.
    func submit(images: Int, input: [Float]) async -> Result<BatchRows, ServeError> {
        await withCheckedContinuation { continuation in
            let job = BatchJob(images: images, input: input, timeout: settings.timeoutSeconds) {
                continuation.resume(returning: $0)
            }
            if let refusal = place(job) { job.finish(.failure(refusal)) }
        }
    }

    /// Enqueues `job`, or says why not.
    private func place(_ job: BatchJob) -> ServeError? {
        lock.withLock {
            let waiting = workers.reduce(0) { $0 + $1.waiting }
            guard waiting + job.images <= settings.maxQueue else {
                metrics.rejected()
                return ServeError(
                    status: 503,
                    message:
                        "the queue is full (\(waiting) images waiting, --max-queue \(settings.maxQueue)); retry after the Retry-After seconds",
                    retryAfter: 1)
            }
            let worker = workers.min { $0.load < $1.load }!
            metrics.queueDepthChanged(by: job.images)
            guard worker.enqueue(job) else {
                metrics.queueDepthChanged(by: -job.images)
                return ServeError(status: 503, message: "the server is shutting down; retry on another replica", retryAfter: 1)
            }
            return nil
        }
    }
}
