import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

@testable import SENetServe

/// The per-device watchdog, in-process: a device whose batches hang (`StallingBackend`, what
/// `serve --debug-stall-device` uses) is taken out of service within --batch-timeout.
final class WatchdogTests: XCTestCase {
    static let side = 32
    static let limit = 0.5

    private static func request() -> Data {
        let values = Array(repeating: "0.25", count: 3 * side * side).joined(separator: ",")
        return Data(
            (#"{"inputs":[{"name":"input","datatype":"FP32","shape":[1,3,\#(side),\#(side)],"data":[\#(values)]}],"#
                + #""outputs":[{"name":"logits"}]}"#).utf8)
    }

    /// "stand-in" answers in 50 ms, "stuck" hangs after its warm-up (one run: --max-batch 1).
    private func server() -> StandInServer {
        let stuck = StallingBackend(inner: EchoBackend(classes: 10), runsBeforeStall: 1)
        var server = StandInServer(
            name: "m", backend: EchoBackend(classes: 10, delay: 0.05), side: Self.side, maxBatch: 1, windowSeconds: 0,
            batchTimeoutSeconds: Self.limit)
        server.moreBackends = [("stuck", stuck)]
        return server
    }

    private static func sendConcurrently(_ count: Int, _ client: any TestClientProtocol) async throws -> [(Reply, Double)] {
        try await withThrowingTaskGroup(of: (Reply, Double).self) { group in
            for _ in 0..<count {
                group.addTask {
                    let start = Date()
                    let reply = try await client.send(.post, "/v2/models/m/infer", body: Self.request())
                    return (reply, Date().timeIntervalSince(start))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    func testAHungDeviceGets503WithinTheLimitAndTheOtherKeepsServing() async throws {
        try await server().run { client in
            let replies = try await Self.sendConcurrently(8, client)
            let refused = replies.filter { $0.0.status == 503 }
            // One batch of one image ran on "stuck": its request alone gets 503; the requests
            // queued behind it move to "stand-in" and are answered.
            XCTAssertEqual(refused.count, 1, replies.map { "\($0.0.status) \($0.0.body.prefix(120))" }.joined(separator: "\n"))
            XCTAssertEqual(replies.filter { $0.0.status == 200 }.count, 7)
            let message = try XCTUnwrap(refused.first?.0.error)
            XCTAssertTrue(message.contains("device stuck") && message.contains("--batch-timeout"), message)
            XCTAssertLessThan(refused.first!.1, Self.limit + 1.0, "answered within the limit and the watchdog's tick")
            XCTAssertEqual(refused.first?.0.retryAfter, "1")
            // Still ready on the device left, which now takes every request.
            let ready = try await client.send(.get, "/v2/health/ready")
            XCTAssertEqual(ready.status, 200, ready.body)
            let after = try await Self.sendConcurrently(4, client)
            XCTAssertEqual(after.map { $0.0.status }, [200, 200, 200, 200])
            let stuckInService = try await client.metric(#"senet_device_in_service{device="stuck"}"#)
            let otherInService = try await client.metric(#"senet_device_in_service{device="stand-in"}"#)
            let trips = try await client.metric(#"senet_device_batch_timeouts_total{device="stuck"}"#)
            XCTAssertEqual(stuckInService, 0)
            XCTAssertEqual(otherInService, 1)
            XCTAssertEqual(trips, 1)
        }
    }

    /// CI saw five 503s "past --batch-timeout 60 s" a second into a load: the watchdog had read
    /// the clock before a batch began and subtracted unsigned, wrapping to centuries.
    func testABatchThatBeganAfterTheWatchdogReadTheClockHasNotRunPastTheLimit() {
        let since = DispatchTime.now()
        let earlier = DispatchTime(uptimeNanoseconds: since.uptimeNanoseconds - 1_000)
        XCTAssertFalse(DeviceWorker.ran(since: since, now: earlier, pastLimit: 60))
        XCTAssertFalse(DeviceWorker.ran(since: since, now: since, pastLimit: 60))
        XCTAssertFalse(DeviceWorker.ran(since: since, now: since + 59.9, pastLimit: 60))
        XCTAssertTrue(DeviceWorker.ran(since: since, now: since + 60.1, pastLimit: 60))
    }

    func testReadinessDropsWhenNoDeviceIsLeft() async throws {
        var server = StandInServer(
            name: "m", backend: EchoBackend(classes: 10), side: Self.side, maxBatch: 1, windowSeconds: 0,
            batchTimeoutSeconds: Self.limit)
        server.wrappedBackend = StallingBackend(inner: EchoBackend(classes: 10), runsBeforeStall: 1)
        try await server.run { client in
            let reply = try await client.send(.post, "/v2/models/m/infer", body: Self.request())
            XCTAssertEqual(reply.status, 503, reply.body)
            let ready = try await client.send(.get, "/v2/health/ready")
            XCTAssertEqual(ready.status, 503, "no device left in service")
            let model = try await client.send(.get, "/v2/models/m/ready")
            XCTAssertEqual(model.status, 503)
            let next = try await client.send(.post, "/v2/models/m/infer", body: Self.request())
            XCTAssertEqual(next.status, 503, next.body)
            XCTAssertTrue(next.error?.contains("no device is in service") ?? false, next.body)
        }
    }
}
