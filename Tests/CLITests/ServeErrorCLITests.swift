import Foundation
import SENetCore
import TestSupport
import XCTest

/// Every bad request of docs/ERRORS.md's serve table is sent, and gets the table's status and
/// error text; the server keeps serving after them all.
final class ServeErrorCLITests: XCTestCase {
    struct Case {
        let method: String
        let path: String
        let body: Data?
        let headers: [String: String]

        static func post(_ body: Data, headers: [String: String] = [:], path: String = "/v2/models/seresnet18/infer") -> Case {
            Case(method: "POST", path: path, body: body, headers: headers)
        }
        static func json(_ object: Any, path: String = "/v2/models/seresnet18/infer") throws -> Case {
            post(try JSONSerialization.data(withJSONObject: object), path: path)
        }
        /// A binary-data extension request: JSON header, then `binary`.
        static func binary(_ header: Any, _ binary: Data, length: String? = nil) throws -> Case {
            let json = try JSONSerialization.data(withJSONObject: header)
            return post(json + binary, headers: ["Inference-Header-Content-Length": length ?? "\(json.count)"])
        }
    }

    static func tensor(_ shape: [Int], _ count: Int? = nil, name: String = "input") -> [String: Any] {
        [
            "inputs": [
                [
                    "name": name, "shape": shape, "datatype": "FP32",
                    "data": [Float](repeating: 0.5, count: count ?? shape.reduce(1, *)),
                ]
            ]
        ]
    }

    static func floats(_ count: Int, first: Float = 0) -> Data {
        var values = [Float](repeating: 0, count: count)
        values[0] = first
        return values.withUnsafeBytes { Data($0) }
    }

    /// The requests, by the name of their row in docs/ERRORS.md.
    static func cases() throws -> [String: Case] {
        [
            "malformed JSON": .post(Data(#"{"inputs": ["#.utf8)),
            "no inputs": try .json([String: Any]()),
            "two inputs": try .json([
                "inputs": (tensor([1, 3, 32, 32])["inputs"] as! [Any])
                    + (tensor([1, 3, 32, 32], name: "image")["inputs"] as! [Any])
            ]),
            "unknown input name": try .json(tensor([1, 3, 32, 32], name: "pixels")),
            "unsupported datatype": try .json(["inputs": [["name": "input", "shape": [1], "datatype": "INT64", "data": [1]]]]),
            "FP32 input with the wrong shape": try .json(tensor([1, 3, 16, 16])),
            "data count differs from the shape": try .json(tensor([1, 3, 32, 32], 10)),
            "FP32 data that is not numbers": try .json([
                "inputs": [["name": "input", "shape": [1], "datatype": "FP32", "data": ["a"]]]
            ]),
            "tensor input sent as BYTES": try .json([
                "inputs": [["name": "input", "shape": [1], "datatype": "BYTES", "data": ["AAAA"]]]
            ]),
            "more images than --max-batch": try .json(tensor([5, 3, 32, 32])),
            "image bytes that are not JPEG or PNG": try .json([
                "inputs": [["name": "image", "shape": [1], "datatype": "BYTES", "data": ["aGVsbG8="]]]
            ]),
            "BYTES in JSON that are not base64": try .json([
                "inputs": [["name": "image", "shape": [1], "datatype": "BYTES", "data": ["not base64!"]]]
            ]),
            "NaN in binary FP32 data": try .binary(
                [
                    "inputs": [
                        [
                            "name": "input", "shape": [1, 3, 32, 32], "datatype": "FP32",
                            "parameters": ["binary_data_size": 12288],
                        ]
                    ]
                ],
                floats(3072, first: .nan)),
            "binary_data_size past the end of the body": try .binary(
                [
                    "inputs": [
                        [
                            "name": "input", "shape": [1, 3, 32, 32], "datatype": "FP32",
                            "parameters": ["binary_data_size": 12288],
                        ]
                    ]
                ],
                floats(100)),
            "bytes left after the inputs": try .binary(
                [
                    "inputs": [
                        [
                            "name": "input", "shape": [1, 3, 32, 32], "datatype": "FP32",
                            "parameters": ["binary_data_size": 12288],
                        ]
                    ]
                ],
                floats(3073)),
            "Inference-Header-Content-Length not a number": try .binary(tensor([1, 3, 32, 32]), Data(), length: "twelve"),
            "Inference-Header-Content-Length beyond the body": try .binary(tensor([1, 3, 32, 32]), Data(), length: "99999999"),
            "unknown output": try .json(tensor([1, 3, 32, 32]).merging(["outputs": [["name": "features"]]]) { $1 }),
            "top_k out of range": try .json(tensor([1, 3, 32, 32]).merging(["parameters": ["top_k": 0]]) { $1 }),
            "body over --max-body-mb": .post(Data(count: 1_048_577)),
            // More commas than --max-batch 4 images of 3×32×32 numbers and the slack: refused unparsed.
            "JSON holding more numbers than the model takes": .post(
                Data(
                    (#"{"inputs":[{"name":"input","shape":[1,3,32,32],"datatype":"FP32","data":["#
                        + Array(repeating: "0", count: 4 * 3072 + 65_537).joined(separator: ",") + "]}]}").utf8)),
            "compressed body": .post(Data("{}".utf8)).with(headers: ["Content-Encoding": "gzip"]),
            "unknown model": try .json(tensor([1, 3, 32, 32]), path: "/v2/models/resnet50/infer"),
            "unknown model version": try .json(tensor([1, 3, 32, 32]), path: "/v2/models/seresnet18/versions/2/infer"),
            "unknown route": Case(method: "GET", path: "/v1/models", body: nil, headers: [:]),
        ]
    }

    /// Rows of the serve table: request → (status, start of the error text).
    static func documentedRows() throws -> [String: (status: Int, error: String)] {
        let doc = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/ERRORS.md"), encoding: .utf8)
        guard let section = doc.components(separatedBy: "## serve: bad requests").dropFirst().first else { return [:] }
        var rows: [String: (Int, String)] = [:]
        for line in section.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3, let status = Int(cells[1]) else { continue }
            rows[cells[0]] = (status, cells[2].trimmingCharacters(in: CharacterSet(charactersIn: "`")))
        }
        return rows
    }

    func testEveryDocumentedBadRequestGetsItsStatusAndErrorAndTheServerCarriesOn() throws {
        try skipWithoutOpenCL()
        let rows = try Self.documentedRows()
        let overload = Set(["queue full", "queue timeout", "model warming up"])
        XCTAssertEqual(
            Set(rows.keys), Set(try Self.cases().keys).union(overload), "docs/ERRORS.md's serve table and the tests differ")
        let server = try ServerProcess(["--device", "0", "--max-batch", "4", "--max-body-mb", "1"] + ServeCLITests.small)
        defer { server.stop() }
        for (name, request) in try Self.cases().sorted(by: { $0.key < $1.key }) {
            let reply = try server.send(request.method, request.path, body: request.body, headers: request.headers)
            guard let row = rows[name] else { continue }
            XCTAssertEqual(reply.status, row.status, "\(name): \(reply.text)")
            XCTAssertTrue(reply.error?.hasPrefix(row.error) == true, "\(name): got \(reply.text), documented \(row.error)")
        }
        let good = try server.post(
            "/v2/models/seresnet18/infer", body: try JSONSerialization.data(withJSONObject: Self.tensor([1, 3, 32, 32])))
        XCTAssertEqual(good.status, 200, good.text)
        XCTAssertEqual(try server.metric(#"senet_requests_total{route="infer",status="400"}"#), 20)
        XCTAssertEqual(try server.metric(#"senet_requests_total{route="infer",status="413"}"#), 2)
        XCTAssertEqual(server.stop(), 0, server.log)
    }

    /// One device, batches of one, a queue of one and a 10 ms timeout: concurrent requests of a
    /// 224×224 SE-ResNet-50 fill the queue and time out. Infer sent before the warm-up ends
    /// gets 503 too.
    func testOverloadGets503WithRetryAfterAndWarmUpIsNotReady() throws {
        try skipWithoutOpenCL()
        let rows = try Self.documentedRows()
        let server = try ServerProcess(
            [
                "--device", "0", "--model", "seresnet50", "--max-batch", "1", "--max-queue", "1", "--timeout", "0.01",
                "--batch-window-ms", "0", "--debug-warm-up-delay", "1",
            ],
            waitForReady: false)
        defer { server.stop() }
        let header: [String: Any] = [
            "inputs": [
                ["name": "input", "shape": [1, 3, 224, 224], "datatype": "FP32", "parameters": ["binary_data_size": 602_112]]
            ]
        ]
        let request = try Case.binary(header, Self.floats(150_528))
        let post = { try server.post("/v2/models/seresnet50/infer", body: request.body!, headers: request.headers) }
        let early = try post()
        let notReady = try server.get("/v2/health/ready")
        try server.waitUntilReady()
        let replies = LockedList<ServerProcess.Reply>()
        let failures = LockedList<String>()
        // Threads, not concurrentPerform: that runs only as many at once as there are cores.
        let group = DispatchGroup()
        for _ in 0..<12 {
            group.enter()
            Thread {
                do { replies.append(try post()) } catch { failures.append("\(error)") }
                group.leave()
            }.start()
        }
        group.wait()
        let byError = Dictionary(grouping: replies.items) { $0.error.map { String($0.prefix(24)) } ?? "ok" }
        XCTAssertEqual(failures.items, [], "requests failed without an HTTP answer")
        XCTAssertEqual(replies.items.count, 12)
        XCTAssertGreaterThanOrEqual(replies.items.filter { $0.status == 200 }.count, 1, "\(byError.keys)")
        for (name, reply) in [("model warming up", Optional(early)), ("queue full", nil), ("queue timeout", nil)] {
            let row = try XCTUnwrap(rows[name], name)
            let matching = reply.map { [$0] } ?? replies.items.filter { $0.error?.hasPrefix(row.error) == true }
            XCTAssertFalse(matching.isEmpty, "\(name): no reply says \(row.error); got \(byError.keys)")
            for reply in matching {
                XCTAssertEqual(reply.status, row.status, name)
                XCTAssertTrue(reply.error?.hasPrefix(row.error) == true, "\(name): \(reply.text)")
                XCTAssertEqual(reply.headers["retry-after"], "1", name)
            }
        }
        XCTAssertEqual(notReady.status, 503)
        XCTAssertGreaterThanOrEqual(try server.metric("senet_queue_full_total") ?? 0, 1)
        XCTAssertGreaterThanOrEqual(try server.metric("senet_queue_timeouts_total") ?? 0, 1)
        XCTAssertEqual((try server.get("/v2/health/live")).status, 200)
    }
}

extension ServeErrorCLITests.Case {
    func with(headers extra: [String: String]) -> Self {
        Self(method: method, path: path, body: body, headers: headers.merging(extra) { $1 })
    }
}

/// Appended to from several threads.
final class LockedList<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Element] = []
    func append(_ element: Element) { lock.withLock { storage.append(element) } }
    var items: [Element] { lock.withLock { storage } }
}
