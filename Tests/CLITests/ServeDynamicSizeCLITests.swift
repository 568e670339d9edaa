import Foundation
import SENetCore
import TestSupport
import XCTest

/// `serve --dynamic-size` from the outside: tritonclient over HTTP and gRPC sends tensors of
/// several H×W and gets `infer`'s logits for each, with fewer plans kept than the sizes need.
final class ServeDynamicSizeCLITests: XCTestCase {
    private func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("senet-dynamic-\(UUID())-\(name)").path
    }

    /// `input.npy:logits.npy` for a seeded input of `shape` and `infer`'s logits for it.
    private func inputAndInferLogits(_ shape: [Int], seed: UInt64) throws -> String {
        let (input, logits) = (temporary("x.npy"), temporary("l.npy"))
        try NumpyFile.write(SyntheticWeights.input(shape: shape, seed: seed), path: input)
        let result = try runCLI(["infer", "--device", "0", "--model", "seresnet18", "--input", input, "--save-logits", logits])
        XCTAssertEqual(result.status, 0, result.stderr)
        return "\(input):\(logits)"
    }

    func testTritonClientsGetInferLogitsForEverySizeInTheRangeWithPlansDroppedAndRebuilt() throws {
        try skipWithoutOpenCL()
        let pairs = try [([1, 3, 40, 48], 21), ([2, 3, 64, 33], 22), ([1, 3, 32, 32], 23)].map {
            try inputAndInferLogits($0.0, seed: UInt64($0.1))
        }
        // --max-batch 2 plans batches of 1 and 2; three sizes need six plans, and three are kept.
        let server = try ServerProcess(
            ["--device", "0", "--grpc-port", "0", "--model", "seresnet18", "--crop", "32", "--resize", "36"]
                + ["--max-batch", "2", "--dynamic-size", "32..64", "--max-plans", "3"])
        defer { server.stop() }
        let client = try runClient(
            ["--url", server.url, "--grpc-url", try server.grpcURL(), "--model", "seresnet18", "--range", "32", "64"] + pairs,
            script: "dynamic_size_client.py")
        XCTAssertEqual(client.status, 0, "dynamic-size check failed: \(client.stderr)\nserver log:\n\(server.log)")
        XCTAssertLessThanOrEqual(try XCTUnwrap(try server.metric(#"senet_device_plans{device="0"}"#)), 3)
        XCTAssertGreaterThan(try server.metric(#"senet_device_plans_dropped_total{device="0"}"#) ?? 0, 0, server.log)
        XCTAssertEqual(server.stop(), 0, server.log)
    }

    func testBadRangesAndACropOutsideTheRangeGetOneLine() throws {
        for (arguments, expected) in [
            (["--dynamic-size", "64"], "is not MIN..MAX"),
            (["--dynamic-size", "16..64"], "is not within 32..4096"),
            (["--dynamic-size", "128..64"], "is not within 32..4096"),
            (["--dynamic-size", "64..128", "--crop", "32", "--resize", "36"], "--crop 32 is outside --dynamic-size 64..128"),
            (["--max-plans", "4"], "--max-plans needs --dynamic-size"),
            (["--dynamic-size", "32..64", "--crop", "32", "--max-batch", "8", "--max-plans", "3"], "below the 4 batch sizes"),
        ] {
            let result = try runCLI(["serve", "--model", "seresnet18", "--port", "0"] + arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(expected), "\(arguments): \(result.stderr)")
        }
    }
}
