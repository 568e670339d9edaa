import Logging
import ServiceLifecycle
import UnixSignals

extension InferenceServer {
    /// The shutdown an orchestrator expects. On SIGTERM readiness turns 503 at once while the
    /// listener keeps serving for `drainWindow` seconds, long enough for load balancers to stop
    /// sending; then the listener closes and requests in flight are answered, for at most
    /// `drainTimeout` seconds before the connections left (stalled uploads) are closed. SIGINT,
    /// an interactive ^C, skips the window, and so does a second signal.
    func drainOnSignals(_ group: ServiceGroup) -> Task<Void, Never> {
        Task { [state, logger, configuration] in
            for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                guard state.startDraining() else {
                    logger.info("second signal: closing the listener now", metadata: ["signal": "\(signal)"])
                    await group.triggerGracefulShutdown()
                    continue
                }
                let window = signal == .sigterm ? configuration.drainWindow : 0
                logger.info(
                    "draining: readiness says 503",
                    metadata: [
                        "signal": "\(signal)", "listener_open_s": "\(window)", "drain_timeout_s": "\(configuration.drainTimeout)",
                    ])
                Task {
                    if window > 0 { try? await Task.sleep(for: .seconds(window)) }
                    await group.triggerGracefulShutdown()
                }
            }
        }
    }
}
