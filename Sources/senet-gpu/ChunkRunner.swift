import Foundation
import SENetEngine

/// A device's engine, replaced when a plan falls back to the CPU.
final class EngineSlot: @unchecked Sendable {
    var engine: InferenceEngine
    init(engine: InferenceEngine) { self.engine = engine }
}

/// Runs numbered chunks of work on one thread per device, each device taking the next chunk
/// when it finishes its own (so a faster device takes more), and hands results back in order.
final class ChunkRunner<Result>: @unchecked Sendable {
    private let chunks: Int
    private let devices: Int
    private let condition = NSCondition()
    private var next = 0
    private var results: [Int: Swift.Result<Result, Error>] = [:]
    private var failed = false

    init(chunks: Int, devices: Int) {
        (self.chunks, self.devices) = (chunks, devices)
    }

    /// Starts the threads; `work(device, chunk)` runs on them.
    func start(_ work: @escaping (Int, Int) throws -> Result) {
        for device in 0..<devices {
            let thread = Thread { [self] in
                while let index = take() {
                    let result = Swift.Result { try work(device, index) }
                    condition.withLock {
                        results[index] = result
                        if case .failure = result { failed = true }
                        condition.broadcast()
                    }
                }
            }
            thread.name = "senet-infer-device-\(device)"
            thread.start()
        }
    }

    private func take() -> Int? {
        condition.withLock {
            guard next < chunks, !failed else { return nil }
            defer { next += 1 }
            return next
        }
    }

    /// Waits for chunk `index`; rethrows its error (the threads then stop taking chunks).
    func result(_ index: Int) throws -> Result {
        let result = condition.withLock {
            while results[index] == nil { condition.wait() }
            return results.removeValue(forKey: index)!
        }
        return try result.get()
    }
}
