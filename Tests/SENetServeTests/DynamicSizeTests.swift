import Foundation
import Hummingbird
import HummingbirdTesting
import SENetServe
import XCTest

/// `serve --dynamic-size MIN..MAX` in-process: tensors of any H×W in the range are served, a
/// batch holds one size, and the metadata and config say -1 for H and W.
final class DynamicSizeTests: XCTestCase {
    private func server(_ backend: EchoBackend = EchoBackend(classes: 10)) -> StandInServer {
        StandInServer(name: "m", backend: backend, side: 32, maxBatch: 4, windowSeconds: 0.02, dynamicSizes: 32...64)
    }

    /// One image of `height`×`width` whose every value is `value`.
    private static func request(height: Int, width: Int, value: Float) -> Data {
        let values = Array(repeating: "\(value)", count: 3 * height * width).joined(separator: ",")
        return Data(
            (#"{"inputs":[{"name":"input","datatype":"FP32","shape":[1,3,\#(height),\#(width)],"data":[\#(values)]}],"#
                + #""outputs":[{"name":"logits"}]}"#).utf8)
    }

    private static func logits(_ reply: Reply) throws -> [Double] {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any])
        let outputs = try XCTUnwrap(object["outputs"] as? [[String: Any]], reply.body)
        return try XCTUnwrap(outputs.first?["data"] as? [Double])
    }

    func testRequestsOfSeveralSizesBatchBySizeAndEachGetsItsOwnRows() async throws {
        let sizes = [(32, 32), (40, 48), (64, 33)]
        let backend = EchoBackend(classes: 10, delay: 0.03)
        try await server(backend).run { client in
            let warmUp = backend.batches.shapes
            XCTAssertEqual(warmUp.last, [4, 3, 64, 64], "the warm-up runs a full batch at the largest size")
            let replies = try await withThrowingTaskGroup(of: (Int, Reply).self) { group in
                for index in 0..<24 {
                    let (height, width) = sizes[index % sizes.count]
                    group.addTask {
                        // From 10: a row starting with 7 makes EchoBackend fail.
                        let body = Self.request(height: height, width: width, value: Float(index + 10))
                        return (index, try await client.send(.post, "/v2/models/m/infer", body: body))
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            for (index, reply) in replies {
                XCTAssertEqual(reply.status, 200, reply.body)
                // EchoBackend's first two logits are the row's first value and its mean.
                XCTAssertEqual(Array(try Self.logits(reply).prefix(2)), [Double(index + 10), Double(index + 10)], "\(index)")
            }
            let served = Array(backend.batches.shapes.dropFirst(warmUp.count))
            for (height, width) in sizes {
                XCTAssertTrue(served.contains { $0[2] == height && $0[3] == width }, "\(height)×\(width) ran: \(served)")
            }
            XCTAssertTrue(served.contains { $0[0] > 1 }, "requests of one size still batch: \(served)")
        }
    }

    func testSizesOutsideTheRangeGet400AndTheMetadataSaysMinusOne() async throws {
        try await server().run { client in
            for (height, width) in [(31, 32), (32, 65), (16, 16)] {
                let reply = try await client.send(
                    .post, "/v2/models/m/infer", body: Self.request(height: height, width: width, value: 1))
                XCTAssertEqual(reply.status, 400, reply.body)
                XCTAssertTrue(reply.error?.contains("within --dynamic-size 32..64") ?? false, reply.body)
            }
            let metadata = try await client.send(.get, "/v2/models/m")
            XCTAssertTrue(metadata.body.contains(#"{"name":"input","datatype":"FP32","shape":[-1,3,-1,-1]}"#), metadata.body)
            let config = try await client.send(.get, "/v2/models/m/config")
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(config.body.utf8)) as? [String: Any])
            let inputs = try XCTUnwrap(object["input"] as? [[String: Any]], config.body)
            XCTAssertEqual(inputs.first?["dims"] as? [Int], [3, -1, -1], config.body)
        }
    }
}
