import Foundation
import TestSupport
import XCTest

/// HTTP/1 details Hummingbird leaves to `HTTP1ConnectionRules` and `ConnectionRegistry`, with the
/// raw-socket clients of Tests/serve/hostile_client.py.
final class ServeHTTPTests: XCTestCase {
    private func hostile(_ arguments: [String]) throws -> [String: Any] {
        let client = try runClient(arguments, script: "hostile_client.py")
        XCTAssertEqual(client.status, 0, client.stderr)
        return try JSONSerialization.jsonObject(with: Data(client.stdout.utf8)) as? [String: Any] ?? [:]
    }

    func testHTTP10IsClosedAfterItsResponseUnlessItAskedForKeepAlive() throws {
        try skipWithoutOpenCL()
        let server = try ServerProcess(["--device", "0"] + ServeCLITests.small)
        defer { server.stop() }
        let result = try hostile(["http10", "--url", server.url, "--model", "seresnet18"])
        let plain = result["plain"] as? [String: Any] ?? [:]
        XCTAssertEqual(plain["status"] as? Int, 200, "\(result)")
        XCTAssertEqual(plain["connection"] as? String, "close", "\(result)")
        XCTAssertLessThan(plain["closed_after"] as? Double ?? 99, 1, "a client reading to EOF hangs: \(result)")
        let kept = result["keep_alive"] as? [String: Any] ?? [:]
        XCTAssertEqual(kept["status"] as? Int, 200, "\(result)")
        XCTAssertEqual(kept["connection"] as? String, "keep-alive", "\(result)")
        XCTAssertTrue(kept["closed_after"] is NSNull, "a keep-alive HTTP/1.0 connection was closed: \(result)")
        XCTAssertEqual(server.stop(), 0, server.log)
    }

    func testExpect100ContinueIsAnsweredAtOnceAndAnOversizedOneGets413AndAClose() throws {
        try skipWithoutOpenCL()
        let server = try ServerProcess(["--device", "0", "--max-body-mb", "1"] + ServeCLITests.small)
        defer { server.stop() }
        let result = try hostile(["expect", "--url", server.url, "--model", "seresnet18", "--oversize", "2000000"])
        let small = result["small"] as? [String: Any] ?? [:]
        XCTAssertEqual(small["interim"] as? Int, 100, "\(result)")
        XCTAssertLessThan(small["seconds_to_interim"] as? Double ?? 99, 0.5, "\(result)")
        XCTAssertEqual(small["final"] as? Int, 400, "the body was read after the 100 (its inputs are empty): \(result)")
        let oversized = result["oversized"] as? [String: Any] ?? [:]
        XCTAssertEqual(oversized["status"] as? Int, 413, "\(result)")
        XCTAssertEqual(oversized["interims"] as? Int, 0, "a 100 invited a body that will be refused: \(result)")
        XCTAssertEqual(oversized["connection"] as? String, "close", "\(result)")
        XCTAssertLessThan(oversized["closed_after"] as? Double ?? 99, 1, "\(result)")
        XCTAssertEqual(server.stop(), 0, server.log)
    }

    /// JSON costs memory per number, so its limit follows the model (--max-batch 1 of 3×32×32:
    /// 1.1 MiB) while binary bodies keep --max-body-mb.
    func testAJSONBodyIsLimitedToTheModelsLargestJSONRequest() throws {
        try skipWithoutOpenCL()
        let server = try ServerProcess(["--device", "0", "--max-batch", "1", "--max-body-mb", "8"] + ServeCLITests.small)
        defer { server.stop() }
        let path = "/v2/models/seresnet18/infer"
        let json = try server.post(
            path, body: Data(repeating: 0x20, count: 2_000_000), headers: ["Content-Type": "application/json"])
        XCTAssertEqual(json.status, 413, json.text)
        XCTAssertTrue(json.text.contains("the JSON body is larger than 1.1 MiB"), json.text)
        let header = try JSONSerialization.data(withJSONObject: ServeBadRequests.tensor([1, 3, 32, 32]))
        let binary = try server.post(
            path, body: header + Data(count: 2_000_000), headers: ["Inference-Header-Content-Length": "\(header.count)"])
        XCTAssertEqual(binary.status, 400, "a binary body of the same size is read: \(binary.text)")
        XCTAssertTrue(binary.text.contains("bytes of binary data follow"), binary.text)
        XCTAssertEqual(server.stop(), 0, server.log)
    }

    /// 1100 idle connections against a server allowed 1024 open files: the cap (the limit less
    /// 64) closes the longest-idle ones, so a new client is answered at once.
    func testElevenHundredIdleConnectionsAtAnOpenFileLimitOf1024DoNotLockOutANewClient() throws {
        try skipWithoutOpenCL()
        let server = try ServerProcess(["--device", "0"] + ServeCLITests.small, openFileLimit: 1024)
        defer { server.stop() }
        let result = try hostile(["crowd", "--url", server.url, "--model", "seresnet18", "--count", "1100"])
        XCTAssertEqual(result["opened"] as? Int, 1100, "\(result)")
        XCTAssertEqual(result["health"] as? Int, 200, "\(result)")
        XCTAssertLessThan(result["seconds"] as? Double ?? 99, 1, "\(result)")
        let closed = result["closed_by_server"] as? Int ?? 0
        XCTAssertGreaterThanOrEqual(closed, 1100 - (1024 - 64) + 1, "the cap closed too few idle connections: \(result)")
        XCTAssertEqual(server.stop(), 0, server.log)
    }
}
