import Foundation
import SENetCore

/// A backend that runs its first `runsBeforeStall` batches (the warm-up) and then hangs for an
/// hour on every batch, as a wedged driver would: what `serve --debug-stall-device` wraps a
/// device in, so tests can show the watchdog at work.
public final class StallingBackend: InferenceBackend, @unchecked Sendable {
    private let inner: any InferenceBackend
    private let runsBeforeStall: Int
    private let lock = NSLock()
    private var runs = 0

    public init(inner: any InferenceBackend, runsBeforeStall: Int) {
        (self.inner, self.runsBeforeStall) = (inner, runsBeforeStall)
    }

    public var planCache: (kept: Int, dropped: Int)? { inner.planCache }

    public func infer(_ input: Tensor) throws -> (logits: Tensor, probabilities: Tensor) {
        let run = lock.withLock {
            defer { runs += 1 }
            return runs
        }
        if run >= runsBeforeStall { Thread.sleep(forTimeInterval: 3600) }
        return try inner.infer(input)
    }
}
