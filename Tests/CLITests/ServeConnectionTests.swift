import Foundation
import SENetCore
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

    /// SIGTERM while complete requests arrive and one upload has stalled: every request read is
    /// answered, and the stalled upload holds the exit back only `--drain-timeout` (2 s), not
    /// the idle timeout (60 s).
    func testSIGTERMWithAStalledUploaderAnswersEveryCompleteRequestAndExitsWithinTheDrainTimeout() throws {
        try skipWithoutOpenCL()
        let server = try ServerProcess(["--device", "0", "--idle-timeout", "60", "--drain-timeout", "2"] + ServeCLITests.small)
        defer { server.stop() }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("senet-drain-\(UUID()).npy").path
        try NumpyFile.write(SyntheticWeights.input(shape: [1, 3, 32, 32], seed: 1), path: input)
        let stalled = Process()
        stalled.executableURL = try testPython()
        stalled.arguments = [
            repositoryRoot.appendingPathComponent("Tests/serve/hostile_client.py").path, "stall", "--url", server.url,
            "--model", "seresnet18", "--limit", "30",
        ]
        let out = Pipe()
        stalled.standardOutput = out
        try stalled.run()
        defer { if stalled.isRunning { stalled.terminate() } }
        XCTAssertTrue(String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("stalled"))
        // Eight clients send complete requests; after 20 answers the client sends SIGTERM.
        let start = Date()
        let client = try runClient(
            [
                "sigterm", "--url", server.url, "--model", "seresnet18", "--npy", input, "--pid",
                "\(server.process.processIdentifier)", "--after", "20",
            ])
        server.process.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(client.status, 0, client.stderr)
        XCTAssertEqual(server.process.terminationStatus, 0, server.log)
        XCTAssertLessThan(seconds, 8, "the stalled upload held the exit back \(seconds) s")
        let outcomes = try JSONSerialization.jsonObject(with: Data(client.stdout.utf8)) as? [String: Int] ?? [:]
        XCTAssertGreaterThanOrEqual(outcomes["200"] ?? 0, 20, "\(outcomes)")
        let stopped = server.logLines.last { $0["message"] as? String == "stopped after answering every accepted request" }
        // Every complete request was answered 200; the one error is the stalled upload, whose
        // head was read and whose body the drain timeout cut short (400).
        XCTAssertEqual(stopped?["infer_ok"] as? String, "\(outcomes["200"] ?? -1)", "the clients got \(outcomes)")
        XCTAssertEqual(stopped?["infer_errors"] as? String, "1", server.log)
        XCTAssertEqual(
            stopped?["infer_received"] as? String, "\((outcomes["200"] ?? -1) + 1)", "a request was read, not answered")
        stalled.waitUntilExit()
        let report = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(report.contains("closed_after") && !report.contains("null"), "the stalled upload stayed open: \(report)")
    }

    func testSIGTERMTurnsReadinessTo503WhileTheListenerServesThroughTheDrainWindow() throws {
        try skipWithoutOpenCL()
        let server = try ServerProcess(["--device", "0", "--drain-window", "3"] + ServeCLITests.small)
        defer { server.stop() }
        let tensor = try JSONSerialization.data(withJSONObject: [
            "inputs": [
                ["name": "input", "shape": [1, 3, 32, 32], "datatype": "FP32", "data": [Float](repeating: 0, count: 3072)]
            ]
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
            XCTAssertTrue(
                reply.contains("the 2 images declare 200.0 megapixels, more than --max-request-megapixels 100.0"), reply)
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
