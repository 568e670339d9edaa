import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SENetCore
import SENetImages
import SENetServe
import XCTest

/// The server's routes, batching and error mapping in-process, through Hummingbird's router
/// test mode on stand-in backends: no device, no listener, no OpenCL.
final class ServerRoutesTests: XCTestCase {
    static let side = 32
    static let backend = EchoBackend()

    private func withServer(_ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await StandInServer(name: "stand-in", backend: Self.backend, side: Self.side).run(test)
    }

    private static func inferBody(_ values: [Float]) -> ByteBuffer {
        let data = values.map { "\($0)" }.joined(separator: ",")
        return ByteBuffer(
            string: #"{"inputs":[{"name":"input","datatype":"FP32","shape":[1,3,\#(side),\#(side)],"data":[\#(data)]}],"#
                + #""outputs":[{"name":"logits"}]}"#)
    }

    private static func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any], String(buffer: buffer))
    }

    func testHealthMetadataAndInferenceInProcess() async throws {
        try await withServer { client in
            try await client.execute(uri: "/v2/health/live", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(String(buffer: response.body), #"{"live":true}"#)
            }
            try await client.execute(uri: "/v2/health/ready", method: .get) { XCTAssertEqual($0.status, .ok) }
            try await client.execute(uri: "/v2/models/stand-in", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(try Self.object(response.body)["name"] as? String, "stand-in")
            }
            // The row reaches the backend whole, and its logits come back.
            let values = (0..<(3 * Self.side * Self.side)).map { Float($0 % 97) / 8 }
            try await client.execute(uri: "/v2/models/stand-in/infer", method: .post, body: Self.inferBody(values)) {
                response in
                XCTAssertEqual(response.status, .ok, String(buffer: response.body))
                let outputs = try XCTUnwrap(try Self.object(response.body)["outputs"] as? [[String: Any]])
                XCTAssertEqual(outputs.map { $0["name"] as? String }, ["logits"])
                let logits = try XCTUnwrap(outputs.first?["data"] as? [Double]).map(Float.init)
                let expected = Self.backend.logits(of: values[...])
                XCTAssertEqual(logits.count, expected.count)
                for (got, want) in zip(logits, expected) { XCTAssertEqual(got, want, accuracy: 1e-5 * max(1, abs(want))) }
            }
        }
    }

    func testErrorsMapToTheProtocolsStatusesWithOneMessage() async throws {
        try await withServer { client in
            try await client.execute(uri: "/v2/models/other/infer", method: .post, body: Self.inferBody([1])) { response in
                XCTAssertEqual(response.status, .notFound)
                XCTAssertEqual(
                    try Self.object(response.body)["error"] as? String,
                    "unknown model 'other'; this server serves 'stand-in'")
            }
            // One value where the model takes 3×32×32: a 400 naming the shape, before any batch runs.
            try await client.execute(uri: "/v2/models/stand-in/infer", method: .post, body: Self.inferBody([1])) {
                response in
                XCTAssertEqual(response.status, .badRequest)
                let message = try XCTUnwrap(try Self.object(response.body)["error"] as? String)
                XCTAssertTrue(message.contains("1 values"), message)
            }
            // The backend fails the batch: 500 naming the device and the backend's error.
            let failing = [Float(7)] + Array(repeating: 0, count: 3 * Self.side * Self.side - 1)
            try await client.execute(uri: "/v2/models/stand-in/infer", method: .post, body: Self.inferBody(failing)) {
                response in
                XCTAssertEqual(response.status, .internalServerError)
                XCTAssertEqual(
                    try Self.object(response.body)["error"] as? String,
                    "inference failed on device stand-in: the stand-in was asked to fail")
            }
        }
    }
}
