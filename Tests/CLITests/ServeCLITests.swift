import Foundation
import SENetCore
import TestSupport
import XCTest

/// `senet-gpu serve` from the outside: tritonclient and plain HTTP against a server on
/// loopback, results compared with `infer`'s for the same input.
final class ServeCLITests: XCTestCase {
    /// A small network and input so that the load test's 2,000 requests take seconds.
    static let small = ["--model", "seresnet18", "--crop", "32", "--resize", "36"]
    static let images = ["baseline.jpg", "grey.png"].map { ModelFixture.directory.appendingPathComponent("images/\($0)").path }

    private func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("senet-serve-\(UUID())-\(name)").path
    }

    /// A seeded [N, 3, 32, 32] input as .npy and `infer --device DEVICE`'s logits for it.
    private func inputAndInferLogits(batch: Int, device: String = "0") throws -> (input: String, logits: String) {
        let input = temporary("x\(batch).npy")
        try NumpyFile.write(SyntheticWeights.input(shape: [batch, 3, 32, 32], seed: UInt64(batch)), path: input)
        let logits = temporary("l\(batch).npy")
        let result = try runCLI(["infer", "--device", device, "--input", input, "--save-logits", logits] + Self.small)
        XCTAssertEqual(result.status, 0, result.stderr)
        return (input, logits)
    }

    func testTritonClientGetsMetadataAndTheLogitsInferGivesForTensorsAndImageFiles() throws {
        try skipWithoutOpenCL()
        let (input, logits) = try inputAndInferLogits(batch: 2)
        let imageLogits = temporary("images.npy")
        let infer = try runCLI(
            ["infer", "--device", "0", "--batch", "2", "--save-logits", imageLogits, "--input"] + Self.images + Self.small)
        XCTAssertEqual(infer.status, 0, infer.stderr)
        let server = try ServerProcess(["--device", "0"] + Self.small)
        defer { server.stop() }
        let client = try runClient(
            [
                "check", "--url", server.url, "--model", "seresnet18", "--npy", input, "--expect", logits, "--expect-images",
                imageLogits, "--images",
            ]
                + Self.images)
        XCTAssertEqual(client.status, 0, "tritonclient check failed: \(client.stderr)\nserver log:\n\(server.log)")
        // Four infer requests (FP32 binary and JSON, classification, images) counted by status.
        XCTAssertEqual(try server.metric(#"senet_requests_total{route="infer",status="200"}"#), 4)
        XCTAssertEqual(server.stop(), 0, server.log)
        let stopped = server.logLines.last { $0["message"] as? String == "stopped after answering every accepted request" }
        XCTAssertEqual(stopped?["infer_ok"] as? String, "4", server.log)
    }

    /// tritonclient.grpc against `--grpc-port`: the same checks as REST's on one server, the
    /// logits bit for bit infer's, async and streaming calls, errors as gRPC codes, and the
    /// statistics counting both transports' requests.
    func testTritonGRPCClientGetsTheLogitsInferGivesBesideREST() throws {
        try skipWithoutOpenCL()
        let (input, logits) = try inputAndInferLogits(batch: 2)
        let imageLogits = temporary("images.npy")
        let infer = try runCLI(
            ["infer", "--device", "0", "--batch", "2", "--save-logits", imageLogits, "--input"] + Self.images + Self.small)
        XCTAssertEqual(infer.status, 0, infer.stderr)
        let server = try ServerProcess(["--device", "0", "--grpc-port", "0"] + Self.small)
        defer { server.stop() }
        let common = ["--model", "seresnet18", "--npy", input, "--expect", logits, "--expect-images", imageLogits, "--images"]
        let grpc = try runClient(["grpc", "--url", try server.grpcURL()] + common + Self.images)
        XCTAssertEqual(grpc.status, 0, "tritonclient.grpc check failed: \(grpc.stderr)\nserver log:\n\(server.log)")
        let rest = try runClient(["check", "--url", server.url] + common + Self.images)
        XCTAssertEqual(rest.status, 0, "tritonclient.http check after gRPC failed: \(rest.stderr)")
        // 8 answered over gRPC and 4 over REST, as the statistics say.
        let stats = try server.get("/v2/models/seresnet18/stats")
        let body = try JSONSerialization.jsonObject(with: stats.body) as? [String: Any]
        let model = (body?["model_stats"] as? [[String: Any]])?.first
        let success = (model?["inference_stats"] as? [String: Any])?["success"] as? [String: Any]
        XCTAssertEqual(success?["count"] as? Int, 12, String(decoding: stats.body, as: UTF8.self))
        XCTAssertEqual(server.stop(), 0, server.log)
    }

    /// The `kserve` SDK's v2 clients (InferenceRESTClient, InferenceGRPCClient) against both
    /// transports: readiness, and infer's logits bit for bit.
    func testKServeSDKClientsGetTheLogitsInferGivesOverRESTAndGRPC() throws {
        try skipWithoutOpenCL()
        let (input, logits) = try inputAndInferLogits(batch: 2)
        let server = try ServerProcess(["--device", "0", "--grpc-port", "0"] + Self.small)
        defer { server.stop() }
        // Positional arguments: importing kserve parses the command line for its own server.
        let client = try runClient(
            [server.url, try server.grpcURL(), "seresnet18", input, logits], script: "kserve_client.py")
        XCTAssertEqual(client.status, 0, "kserve SDK check failed: \(client.stderr)\nserver log:\n\(server.log)")
        XCTAssertTrue(client.stdout.contains("\"grpc_max_abs\": 0.0"), client.stdout)
    }

    func testLoadOnTwoDevicesLosesNothingAndTheMetricsCountEveryRequest() throws {
        try requireOpenCLDevices(2)
        let (input, logits) = try inputAndInferLogits(batch: 8)
        let server = try ServerProcess(["--device", "0,1", "--batch-window-ms", "2", "--max-batch", "8"] + Self.small)
        defer { server.stop() }
        let load = try runClient(
            [
                "load", "--url", server.url, "--model", "seresnet18", "--npy", input, "--expect", logits, "--requests", "2000",
                "--clients", "16",
            ])
        XCTAssertEqual(load.status, 0, "load test lost or corrupted requests: \(load.stdout) \(load.stderr)")
        XCTAssertEqual(try server.metric(#"senet_requests_total{route="infer",status="200"}"#), 2000)
        let perDevice = try ["0", "1"].map { try server.metric(#"senet_device_images_total{device="\#($0)"}"#) ?? 0 }
        XCTAssertEqual(perDevice.reduce(0, +), 2000, "every image ran on exactly one device")
        XCTAssertTrue(perDevice.allSatisfy { $0 > 0 }, "both devices took work: \(perDevice)")
        XCTAssertEqual(try server.metric("senet_batch_size_sum"), 2000)
        XCTAssertLessThan(try server.metric("senet_batch_size_count") ?? 2000, 2000, "some requests were batched together")
        XCTAssertEqual(try server.metric("senet_queue_depth"), 0)
        XCTAssertGreaterThan(try server.metric(#"senet_device_busy_seconds_total{device="1"}"#) ?? 0, 0)
    }

    /// Device 1 hangs after its warm-up (`--debug-stall-device 1`): the one request in its
    /// batch gets 503 within --batch-timeout, the requests queued behind it move to device 0,
    /// and every other request gets infer's logits. Readiness holds on the device left.
    func testAHungDeviceLosesOneBatchWithin503AndTheOtherDeviceServesTheRest() throws {
        try requireOpenCLDevices(2)
        let (input, logits) = try inputAndInferLogits(batch: 8)
        let server = try ServerProcess(
            [
                "--device", "0,1", "--debug-stall-device", "1", "--batch-timeout", "2", "--max-batch", "1", "--batch-window-ms",
                "0",
            ]
                + Self.small)
        defer { server.stop() }
        let load = try runClient(
            [
                "load", "--url", server.url, "--model", "seresnet18", "--npy", input, "--expect", logits, "--requests", "200",
                "--clients", "4", "--expect-refused", "1", "--refused-within", "3",
            ])
        XCTAssertEqual(load.status, 0, "\(load.stdout) \(load.stderr)\nserver log:\n\(server.log)")
        XCTAssertTrue(load.stdout.contains("device 1 did not finish a batch within --batch-timeout 2.0 s"), load.stdout)
        XCTAssertEqual(try server.metric(#"senet_device_in_service{device="1"}"#), 0)
        XCTAssertEqual(try server.metric(#"senet_device_in_service{device="0"}"#), 1)
        XCTAssertEqual(try server.metric(#"senet_device_batch_timeouts_total{device="1"}"#), 1)
        XCTAssertEqual(try server.metric(#"senet_device_images_total{device="0"}"#), 199)
        XCTAssertEqual(try server.get("/v2/health/ready").status, 200, "device 0 still serves")
        XCTAssertEqual(server.stop(), 0, "the drain does not wait for the hung device: \(server.log)")
    }

    func testSIGTERMAnswersEveryAcceptedRequestThenExitsZero() throws {
        try skipWithoutOpenCL()
        let (input, _) = try inputAndInferLogits(batch: 1)
        let server = try ServerProcess(["--device", "0"] + Self.small)
        defer { server.stop() }
        let client = try runClient(
            [
                "sigterm", "--url", server.url, "--model", "seresnet18", "--npy", input, "--pid",
                "\(server.process.processIdentifier)", "--after", "40",
            ])
        XCTAssertEqual(client.status, 0, client.stderr)
        let outcomes = try JSONSerialization.jsonObject(with: Data(client.stdout.utf8)) as? [String: Int] ?? [:]
        XCTAssertEqual(server.stop(), 0, server.log)
        let stopped = server.logLines.last { $0["message"] as? String == "stopped after answering every accepted request" }
        let answered = Int(stopped?["infer_ok"] as? String ?? "") ?? -1
        XCTAssertGreaterThanOrEqual(outcomes["200"] ?? 0, 40)
        XCTAssertEqual(answered, outcomes["200"], "the server answered \(answered); the clients got \(outcomes)")
        XCTAssertEqual(stopped?["infer_errors"] as? String, "0")
        XCTAssertEqual(stopped?["infer_received"] as? String, "\(answered)", "a request was read but not answered")
        let allowed: Set = ["200", "refused", "closed before the request was read"]
        XCTAssertEqual(Set(outcomes.keys).subtracting(allowed), [], "requests ended otherwise: \(outcomes)")
    }

    func testInferOnAllDevicesPrintsWhatDeviceZeroPrints() throws {
        try requireOpenCLDevices(2)  // Each line names the devices that ran it: " + #1 ".
        let folder = ModelFixture.directory.appendingPathComponent("images").path
        let logitsAll = temporary("all.npy")
        let logitsOne = temporary("one.npy")
        let all = try runCLI(
            ["infer", "--device", "all", "--batch", "2", "--input", folder, "--save-logits", logitsAll] + Self.small)
        let one = try runCLI(
            ["infer", "--device", "0", "--batch", "2", "--input", folder, "--save-logits", logitsOne] + Self.small)
        XCTAssertEqual(all.status, one.status, all.stderr)  // 1: the fixtures hold undecodable files on purpose.
        let lines = { (text: String) in text.split(separator: "\n").dropLast().map(String.init) }
        XCTAssertEqual(lines(all.stdout).map { $0.prefix { $0 != ":" } }, lines(one.stdout).map { $0.prefix { $0 != ":" } })
        XCTAssertTrue(all.stdout.contains(" + #1 "), all.stdout)
        assertClose(try NumpyFile.read(path: logitsAll), try NumpyFile.read(path: logitsOne), tolerance: 1e-4)
    }

    func testServeRefusesABadDeviceAndATakenPortWithOneLine() throws {
        try skipWithoutOpenCL()
        let device = try runCLI(["serve", "--device", "0,0"] + Self.small)
        XCTAssertNotEqual(device.status, 0)
        XCTAssertEqual(errorLines(device.stderr), ["senet-gpu: error: --device 0,0 names a device twice"])
        let missing = try runCLI(["serve", "--device", "97"] + Self.small)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(errorLines(missing.stderr).count, 1, missing.stderr)
        let server = try ServerProcess(["--device", "0"] + Self.small)
        defer { server.stop() }
        let taken = try runCLI(["serve", "--device", "0", "--port", "\(server.port)", "--log-format", "text"] + Self.small)
        XCTAssertNotEqual(taken.status, 0)
        XCTAssertEqual(
            errorLines(taken.stderr),
            [
                "senet-gpu: error: port \(server.port) on 127.0.0.1 is already in use; stop the other server or choose another --port (0 picks a free one)"
            ])
        // The HTTP port of the running server as --grpc-port: refused with the gRPC flag's name.
        let grpc = try runCLI(
            ["serve", "--device", "0", "--port", "0", "--grpc-port", "\(server.port)", "--log-format", "text"] + Self.small)
        XCTAssertNotEqual(grpc.status, 0)
        let lines = grpc.stderr.split(separator: "\n").filter { $0.hasPrefix("senet-gpu: error:") }
        XCTAssertEqual(lines.count, 1, grpc.stderr)
        XCTAssertTrue(
            lines.first?.hasPrefix("senet-gpu: error: the gRPC listener on 127.0.0.1:\(server.port) failed") ?? false, grpc.stderr
        )
        XCTAssertTrue(lines.first?.hasSuffix("; stop the other server or choose another --grpc-port") ?? false, grpc.stderr)
    }

    private func errorLines(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").filter { $0.contains("error") }.map(String.init)
    }
}
