import CoreTestSupport
import Foundation
import HummingbirdTesting
import XCTest

/// docs/ERRORS.md's serve table in-process on a stand-in backend: every bad request gets its
/// row's status and error text, the server carries on, the metrics count them; and the
/// overload rows (warming up, queue full, queue timeout) come from a slow backend, in order.
/// ServeErrorCLITests sends the same table through a real listener to a device.
final class ServeBadRequestTests: XCTestCase {
    func testEveryDocumentedBadRequestGetsItsStatusAndErrorAndTheServerCarriesOn() async throws {
        let rows = try ServeBadRequests.documentedRows()
        let cases = try ServeBadRequests.cases()
        XCTAssertEqual(
            Set(rows.keys), Set(cases.keys).union(ServeBadRequests.overloadRows),
            "docs/ERRORS.md's serve table and the tests differ")
        try await StandInServer().run { client in
            for (name, request) in cases.sorted(by: { $0.key < $1.key }) {
                let reply = try await client.send(
                    .init(request.method)!, request.path, body: request.body, headers: request.headers)
                let row = try XCTUnwrap(rows[name], name)
                XCTAssertEqual(reply.status, row.status, "\(name): \(reply.body)")
                XCTAssertTrue(reply.error?.hasPrefix(row.error) == true, "\(name): got \(reply.body), documented \(row.error)")
            }
            let good = try JSONSerialization.data(withJSONObject: ServeBadRequests.tensor([1, 3, 32, 32]))
            let reply = try await client.send(.post, ServeBadRequests.Case.inferPath, body: good)
            XCTAssertEqual(reply.status, 200, reply.body)
            // The metrics count each infer request under its status: 20 of 400, 2 of 413, 2 of 404 and the good one.
            let inferRows = rows.filter { cases[$0.key]?.path.hasSuffix("/infer") == true }.values
            var expected = Dictionary(grouping: inferRows, by: \.status).mapValues(\.count)
            expected[200, default: 0] += 1
            XCTAssertEqual(expected, [400: 20, 413: 2, 404: 2, 200: 1])
            for (status, count) in expected {
                let sample = #"senet_requests_total{route="infer",status="\#(status)"}"#
                let value = try await client.metric(sample)
                XCTAssertEqual(value, Double(count), sample)
            }
        }
    }

    func testInferBeforeTheWarmUpGets503WithRetryAfterAndReadinessSaysSo() async throws {
        let row = try XCTUnwrap(try ServeBadRequests.documentedRows()["model warming up"])
        try await StandInServer().run(warmedUp: false) { client in
            let body = try JSONSerialization.data(withJSONObject: ServeBadRequests.tensor([1, 3, 32, 32]))
            let reply = try await client.send(.post, ServeBadRequests.Case.inferPath, body: body)
            XCTAssertEqual(reply.status, row.status, reply.body)
            XCTAssertTrue(reply.error?.hasPrefix(row.error) == true, reply.body)
            XCTAssertEqual(reply.retryAfter, "1")
            let (ready, live) = (try await client.send(.get, "/v2/health/ready"), try await client.send(.get, "/v2/health/live"))
            XCTAssertEqual(ready.status, 503, ready.body)
            XCTAssertEqual(live.status, 200, live.body)
        }
    }

    /// Batches of one taking 0.3 s, a queue of one image and a 10 ms timeout: the first request
    /// runs, the second waits past the timeout, the third finds the queue full. Each is sent
    /// once the one before has reached its place (the backend, the queue), whatever the load.
    func testAFullQueueAndAQueueTimeoutGet503WithRetryAfter() async throws {
        let rows = try ServeBadRequests.documentedRows()
        let backend = EchoBackend(classes: 1000, delay: 0.3)
        let server = StandInServer(backend: backend, maxBatch: 1, maxQueue: 1, timeoutSeconds: 0.01, windowSeconds: 0)
        try await server.run { client in
            let body = try JSONSerialization.data(withJSONObject: ServeBadRequests.tensor([1, 3, 32, 32]))
            let warmUps = backend.batches.begun
            let replies = try await withThrowingTaskGroup(of: (Int, Reply).self) { group in
                for index in 0..<3 {
                    group.addTask {
                        (index, try await client.send(.post, ServeBadRequests.Case.inferPath, body: body))
                    }
                    if index == 0 {
                        while backend.batches.begun == warmUps { try await Task.sleep(for: .milliseconds(2)) }
                    } else if index == 1 {
                        try await client.waitForMetric("senet_queue_depth", 1)
                    }
                }
                return try await group.reduce(into: [Int: Reply]()) { $0[$1.0] = $1.1 }
            }
            XCTAssertEqual(replies[0]?.status, 200, replies[0]?.body ?? "")
            for (index, name) in [(1, "queue timeout"), (2, "queue full")] {
                let row = try XCTUnwrap(rows[name], name)
                let reply = try XCTUnwrap(replies[index], name)
                XCTAssertEqual(reply.status, row.status, "\(name): \(reply.body)")
                XCTAssertTrue(reply.error?.hasPrefix(row.error) == true, "\(name): got \(reply.body), documented \(row.error)")
                XCTAssertEqual(reply.retryAfter, "1", name)
            }
            let (full, timeouts) = (
                try await client.metric("senet_queue_full_total"), try await client.metric("senet_queue_timeouts_total")
            )
            XCTAssertEqual(full, 1)
            XCTAssertEqual(timeouts, 1)
        }
    }
}
