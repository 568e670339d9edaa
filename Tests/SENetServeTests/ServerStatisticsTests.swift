import Foundation
import Hummingbird
import HummingbirdTesting
import SENetServe
import XCTest

/// Triton's model-configuration and statistics extensions, in-process on the stand-in backend.
final class ServerStatisticsTests: XCTestCase {
    static let side = 32
    /// 20 ms per batch, so the device time the statistics report has a floor to check.
    static let delay = 0.02

    private static func object(_ reply: Reply) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any], reply.body)
    }

    private static func request(first: Float, images: Int = 1) -> Data {
        let count = images * 3 * side * side
        let values = [first] + Array(repeating: Float(0.5), count: count - 1)
        let data = values.map { "\($0)" }.joined(separator: ",")
        return Data(
            (#"{"inputs":[{"name":"input","datatype":"FP32","shape":[\#(images),3,\#(side),\#(side)],"data":[\#(data)]}],"#
                + #""outputs":[{"name":"logits"}]}"#).utf8)
    }

    func testConfigurationGivesTritonsBatchingFieldsAndBothInputsAsOptional() async throws {
        let server = StandInServer(name: "stand-in", backend: EchoBackend(classes: 10), side: Self.side, maxBatch: 4)
        try await server.run { client in
            let reply = try await client.send(.get, "/v2/models/stand-in/config")
            XCTAssertEqual(reply.status, 200, reply.body)
            let config = try Self.object(reply)
            XCTAssertEqual(config["name"] as? String, "stand-in")
            XCTAssertEqual(config["max_batch_size"] as? Int, 4)
            let inputs = try XCTUnwrap(config["input"] as? [[String: Any]])
            XCTAssertEqual(inputs.map { $0["name"] as? String }, ["input", "image"])
            XCTAssertEqual(inputs.map { $0["optional"] as? Bool }, [true, true], "a request carries one of the two")
            XCTAssertEqual(inputs[0]["dims"] as? [Int], [3, Self.side, Self.side], "no batch dimension in dims")
            XCTAssertEqual(inputs[0]["data_type"] as? String, "TYPE_FP32")
            XCTAssertEqual(inputs[1]["data_type"] as? String, "TYPE_STRING")
            let outputs = try XCTUnwrap(config["output"] as? [[String: Any]])
            XCTAssertEqual(outputs.map { $0["name"] as? String }, ["logits", "probabilities", "labels"])
            XCTAssertEqual(outputs[0]["dims"] as? [Int], [10])
            let batching = try XCTUnwrap(config["dynamic_batching"] as? [String: Any])
            XCTAssertEqual(batching["preferred_batch_size"] as? [Int], [1, 2, 4], "the plans' batch sizes")
            XCTAssertEqual(batching["max_queue_delay_microseconds"] as? Int, 2000, "the 2 ms window")
            XCTAssertEqual((config["instance_group"] as? [[String: Any]])?.map { $0["name"] as? String }, ["stand-in"])
            // The versioned path answers the same; another model is a 404.
            let versioned = try await client.send(.get, "/v2/models/stand-in/versions/1/config")
            XCTAssertEqual(versioned.body, reply.body)
            let other = try await client.send(.get, "/v2/models/other/config")
            XCTAssertEqual(other.status, 404, other.body)
            let metadata = try Self.object(try await client.send(.get, "/v2"))
            let extensions = try XCTUnwrap(metadata["extensions"] as? [String])
            XCTAssertTrue(extensions.contains("model_configuration") && extensions.contains("statistics"), "\(extensions)")
        }
    }

    func testStatisticsCountSuccessesFailuresBatchesAndDeviceTime() async throws {
        let backend = EchoBackend(classes: 10, delay: Self.delay)
        try await StandInServer(name: "stand-in", backend: backend, side: Self.side, maxBatch: 4).run { client in
            let empty = try Self.object(try await client.send(.get, "/v2/models/stand-in/stats"))
            let before = try XCTUnwrap((empty["model_stats"] as? [[String: Any]])?.first)
            XCTAssertEqual(before["inference_count"] as? Int, 0, "the warm-up is not an inference")
            XCTAssertEqual(before["execution_count"] as? Int, 0)

            // Two good requests (1 and 2 images), a bad shape (400) and a batch the backend fails (500).
            for images in [1, 2] {
                let reply = try await client.send(
                    .post, "/v2/models/stand-in/infer", body: Self.request(first: 1, images: images))
                XCTAssertEqual(reply.status, 200, reply.body)
            }
            let bad = try await client.send(.post, "/v2/models/stand-in/infer", body: Data(#"{"inputs":[]}"#.utf8))
            XCTAssertEqual(bad.status, 400, bad.body)
            let failing = try await client.send(.post, "/v2/models/stand-in/infer", body: Self.request(first: 7))
            XCTAssertEqual(failing.status, 500, failing.body)

            let reply = try await client.send(.get, "/v2/models/stand-in/stats")
            XCTAssertEqual(reply.status, 200, reply.body)
            let stats = try XCTUnwrap((try Self.object(reply)["model_stats"] as? [[String: Any]])?.first)
            XCTAssertEqual(stats["name"] as? String, "stand-in")
            XCTAssertEqual(stats["version"] as? String, "1")
            XCTAssertEqual(stats["inference_count"] as? Int, 3, "1 + 2 images; the failed batch is not counted")
            XCTAssertEqual(stats["execution_count"] as? Int, 2)
            XCTAssertGreaterThan(stats["last_inference"] as? Int ?? 0, 1_700_000_000_000, "milliseconds since 1970")
            let phases = try XCTUnwrap(stats["inference_stats"] as? [String: [String: Int]])
            XCTAssertEqual(phases["success"]?["count"], 2)
            XCTAssertEqual(phases["fail"]?["count"], 2)
            for phase in ["queue", "compute_input", "compute_infer", "compute_output"] {
                XCTAssertEqual(phases[phase]?["count"], 2, phase)
            }
            let floor = Int(2 * Self.delay * 1e9)
            XCTAssertGreaterThanOrEqual(phases["compute_infer"]?["ns"] ?? 0, floor, "two batches of 20 ms each")
            XCTAssertGreaterThanOrEqual(phases["success"]?["ns"] ?? 0, phases["compute_infer"]?["ns"] ?? .max)
            let batches = try XCTUnwrap(stats["batch_stats"] as? [[String: Any]])
            XCTAssertEqual(batches.map { $0["batch_size"] as? Int }, [1, 2])
            for row in batches {
                let infer = try XCTUnwrap(row["compute_infer"] as? [String: Int])
                XCTAssertEqual(infer["count"], 1)
                XCTAssertGreaterThanOrEqual(infer["ns"] ?? 0, Int(Self.delay * 1e9))
            }
            // Every path to the statistics gives the same numbers.
            let all = try await client.send(.get, "/v2/models/stats")
            XCTAssertEqual(all.status, 200, all.body)
            XCTAssertEqual(try Self.object(all)["model_stats"] as? NSArray, try Self.object(reply)["model_stats"] as? NSArray)
            let other = try await client.send(.get, "/v2/models/other/stats")
            XCTAssertEqual(other.status, 404, other.body)
        }
    }
}
