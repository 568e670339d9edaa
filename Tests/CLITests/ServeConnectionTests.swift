import Foundation
import TestSupport
import XCTest

/// `senet-gpu serve` against loopback clients that misbehave on purpose
/// (Tests/serve/hostile_client.py): every connection has a clock, SIGTERM's drain is bounded,
/// and decoding large requests never keeps health checks waiting.
final class ServeConnectionTests: XCTestCase {
    private func hostile(_ arguments: [String]) throws -> [String: Any] {
        let client = try runClient(arguments, script: "hostile_client.py")
        XCTAssertEqual(client.status, 0, client.stderr)
        return try JSONSerialization.jsonObject(with: Data(client.stdout.utf8)) as? [String: Any] ?? [:]
    }

    func testIdleSlowHeaderAndStalledBodyConnectionsCloseWithinTheIdleTimeout() throws {
        try skipWithoutOpenCL()
        let server = try ServerProcess(["--device", "0", "--idle-timeout", "1"] + ServeCLITests.small)
        defer { server.stop() }
        let closed = try hostile(["timeouts", "--url", server.url, "--model", "seresnet18", "--limit", "10"])
        for name in ["idle", "slow_headers", "stalled_body"] {
            let seconds = try XCTUnwrap(closed[name] as? Double, "\(name) was still open after 10 s: \(closed)")
            XCTAssertGreaterThanOrEqual(seconds, 0.5, "\(name) closed long before its timeout")
            XCTAssertLessThan(seconds, 3, "\(name) outlived the 1 s idle timeout")
        }
        XCTAssertEqual(try server.get("/v2/health/live").status, 200, "the server carries on")
        XCTAssertEqual(server.stop(), 0, server.log)
    }

    func testABodyCutShortByAHalfCloseGets400NotA500() throws {
        try skipWithoutOpenCL()
        let server = try ServerProcess(["--device", "0"] + ServeCLITests.small)
        defer { server.stop() }
        let reply = try hostile(["truncated", "--url", server.url, "--model", "seresnet18"])
        XCTAssertEqual(reply["status"] as? Int, 400, "\(reply)")
        XCTAssertTrue(
            (reply["body"] as? String ?? "").contains("the body ended before all of its Content-Length 100 bytes arrived"),
            "\(reply)")
        XCTAssertEqual(try server.get("/v2/health/live").status, 200, "the server carries on")
        XCTAssertEqual(server.stop(), 0, server.log)
    }

    func testSIGTERMWithAStalledUploaderExitsWithinTheDrainTimeout() throws {
        try skipWithoutOpenCL()
        let server = try ServerProcess(["--device", "0", "--idle-timeout", "60", "--drain-timeout", "2"] + ServeCLITests.small)
        defer { server.stop() }
        let client = Process()
        client.executableURL = try testPython()
        client.arguments = [
            repositoryRoot.appendingPathComponent("Tests/serve/hostile_client.py").path, "stall", "--url", server.url,
            "--model", "seresnet18", "--limit", "30",
        ]
        let out = Pipe()
        client.standardOutput = out
        try client.run()
        defer { if client.isRunning { client.terminate() } }
        // Once the upload has stalled, SIGTERM: the drain waits for it at most the drain timeout.
        let first = out.fileHandleForReading.availableData
        XCTAssertTrue(String(decoding: first, as: UTF8.self).hasPrefix("stalled"))
        Thread.sleep(forTimeInterval: 0.3)
        let start = Date()
        let status = server.stop()
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(status, 0, server.log)
        XCTAssertLessThan(seconds, 5, "SIGTERM waited \(seconds) s for a stalled upload")
        client.waitUntilExit()
        let report = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(report.contains("closed_after"), report)
        XCTAssertFalse(report.contains("null"), "the stalled connection was never closed: \(report)")
    }

    func testSIGTERMTurnsReadinessTo503WhileTheListenerServesThroughTheDrainWindow() throws {
        try skipWithoutOpenCL()
        let server = try ServerProcess(["--device", "0", "--drain-window", "3"] + ServeCLITests.small)
        defer { server.stop() }
        let tensor = try JSONSerialization.data(withJSONObject: [
            "inputs": [["name": "input", "shape": [1, 3, 32, 32], "datatype": "FP32", "data": [Float](repeating: 0, count: 3072)]]
        ])
        XCTAssertEqual(try server.get("/v2/health/ready").status, 200)
        let start = Date()
        kill(server.process.processIdentifier, SIGTERM)
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(try server.get("/v2/health/ready").status, 503, "readiness still says ready while draining")
        XCTAssertEqual(try server.get("/v2/models/seresnet18/ready").status, 503)
        XCTAssertEqual(try server.get("/v2/health/live").status, 200, "liveness fails during the drain: a restart")
        let infer = try server.post("/v2/models/seresnet18/infer", body: tensor, headers: ["Content-Type": "application/json"])
        XCTAssertEqual(infer.status, 200, "a new connection in the window was not served: \(infer.text)")
        server.process.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(server.process.terminationStatus, 0, server.log)
        XCTAssertGreaterThanOrEqual(seconds, 2.8, "the listener closed before the 3 s window ended")
        XCTAssertLessThan(seconds, 8, server.log)
        XCTAssertTrue(server.log.contains("draining: readiness says 503"), server.log)
    }

    func testHealthAndASmallInferAnswerWithinASecondWhileTwoRequestsOfHugeImagesDecode() throws {
        try skipWithoutOpenCL()
        let server = try ServerProcess(
            ["--device", "0", "--max-batch", "8", "--max-request-megapixels", "800", "--max-decoding-megapixels", "1600"]
                + ServeCLITests.small)
        defer { server.stop() }
        // Two requests of eight zero-filled 10000×10000 PNGs (1.2 GB of floats each once decoded).
        let result = try hostile(["busy", "--url", server.url, "--model", "seresnet18"])
        let big = result["big_requests"] as? [[Double]] ?? []
        XCTAssertEqual(big.map { $0.first ?? 0 }, [200, 200], "the huge requests are served: \(result)")
        XCTAssertGreaterThanOrEqual(result["health_checks"] as? Int ?? 0, 3, "health was polled while they decoded: \(result)")
        XCTAssertEqual(result["health_statuses"] as? [Int], [200])
        XCTAssertLessThan(result["health_max_seconds"] as? Double ?? 99, 1, "\(result)")
        let small = result["small_infer"] as? [Double] ?? []
        XCTAssertEqual(small.first, 200, "\(result)")
        XCTAssertLessThan(small.last ?? 99, 1, "the small infer waited behind the huge images: \(result)")
        XCTAssertEqual(server.stop(), 0, server.log)
    }

    /// Images are priced by their headers: over the per-request budget is a 400 before any
    /// decoding, and a request that would pass the server's budget while another decodes is a 503.
    func testPixelBudgetsRefuseHugeImagesBeforeDecodingThem() throws {
        try skipWithoutOpenCL()
        let server = try ServerProcess(
            ["--device", "0", "--max-request-megapixels", "100", "--max-decoding-megapixels", "150"] + ServeCLITests.small)
        defer { server.stop() }
        let perRequest = try hostile(["busy", "--url", server.url, "--model", "seresnet18", "--images", "2"])
        XCTAssertEqual((perRequest["big_requests"] as? [[Double]])?.map { $0[0] }, [400, 400], "\(perRequest)")
        for seconds in (perRequest["big_requests"] as? [[Double]] ?? []).map({ $0[1] }) {
            XCTAssertLessThan(seconds, 1, "refused only after decoding: \(perRequest)")
        }
        for reply in perRequest["big_replies"] as? [String] ?? [] {
            XCTAssertTrue(reply.contains("the 2 images declare 200.0 megapixels, more than --max-request-megapixels 100.0"), reply)
        }
        let serverWide = try hostile(["budget", "--url", server.url, "--model", "seresnet18"])
        XCTAssertEqual(serverWide["first"] as? Int, 200, "\(serverWide)")
        let second = serverWide["second"] as? [String: Any] ?? [:]
        XCTAssertEqual(second["status"] as? Int, 503, "\(serverWide)")
        XCTAssertEqual(second["retry_after"] as? String, "1", "\(serverWide)")
        XCTAssertTrue((second["body"] as? String ?? "").contains("--max-decoding-megapixels 150.0"), "\(serverWide)")
        XCTAssertEqual(server.stop(), 0, server.log)
    }
}
