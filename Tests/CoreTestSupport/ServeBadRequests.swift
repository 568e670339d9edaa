import Foundation

/// The bad requests of docs/ERRORS.md's serve table, for a server of `seresnet18` at 32×32
/// with `--max-batch 4 --max-body-mb 1`. Sent in-process (SENetServeTests) and through a real
/// listener (CLITests), so the table is checked with and without a device.
public enum ServeBadRequests {
    public struct Case {
        public let method: String
        public let path: String
        public let body: Data?
        public let headers: [String: String]

        public static let inferPath = "/v2/models/seresnet18/infer"

        public static func post(_ body: Data, headers: [String: String] = [:], path: String = inferPath) -> Case {
            Case(method: "POST", path: path, body: body, headers: headers)
        }
        public static func json(_ object: Any, path: String = inferPath) throws -> Case {
            post(try JSONSerialization.data(withJSONObject: object), path: path)
        }
        /// A binary-data extension request: JSON header, then `binary`.
        public static func binary(_ header: Any, _ binary: Data, length: String? = nil) throws -> Case {
            let json = try JSONSerialization.data(withJSONObject: header)
            return post(json + binary, headers: ["Inference-Header-Content-Length": length ?? "\(json.count)"])
        }
        func with(headers extra: [String: String]) -> Case {
            Case(method: method, path: path, body: body, headers: headers.merging(extra) { $1 })
        }
    }

    /// The rows whose requests need a server that is overloaded or warming up.
    public static let overloadRows: Set<String> = ["queue full", "queue timeout", "model warming up"]

    public static func tensor(_ shape: [Int], _ count: Int? = nil, name: String = "input") -> [String: Any] {
        let input: [String: Any] = [
            "name": name, "shape": shape, "datatype": "FP32",
            "data": [Float](repeating: 0.5, count: count ?? shape.reduce(1, *)),
        ]
        return ["inputs": [input]]
    }

    /// `count` floats as bytes, zero but for the first.
    public static func floats(_ count: Int, first: Float = 0) -> Data {
        var values = [Float](repeating: 0, count: count)
        values[0] = first
        return values.withUnsafeBytes { Data($0) }
    }

    /// A binary-extension header for one 3×32×32 FP32 input.
    static let binaryHeader: [String: Any] = [
        "inputs": [
            ["name": "input", "shape": [1, 3, 32, 32], "datatype": "FP32", "parameters": ["binary_data_size": 12288]]
        ]
    ]

    /// The requests, by the name of their row in docs/ERRORS.md (all but `overloadRows`).
    public static func cases() throws -> [String: Case] {
        let two = [tensor([1, 3, 32, 32])["inputs"], tensor([1, 3, 32, 32], name: "image")["inputs"]]
        return [
            "malformed JSON": .post(Data(#"{"inputs": ["#.utf8)),
            "no inputs": try .json([String: Any]()),
            "two inputs": try .json(["inputs": two.compactMap { $0 as? [Any] }.flatMap { $0 }]),
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
            "NaN in binary FP32 data": try .binary(binaryHeader, floats(3072, first: .nan)),
            "binary_data_size past the end of the body": try .binary(binaryHeader, floats(100)),
            "bytes left after the inputs": try .binary(binaryHeader, floats(3073)),
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

    /// Rows of docs/ERRORS.md's serve table: request → (status, start of the error text).
    public static func documentedRows() throws -> [String: (status: Int, error: String)] {
        let root = ModelFixture.directory.deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/ERRORS.md"), encoding: .utf8)
        guard let section = doc.components(separatedBy: "## serve: bad requests").dropFirst().first else { return [:] }
        var rows: [String: (Int, String)] = [:]
        for line in section.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3, let status = Int(cells[1]) else { continue }
            rows[cells[0]] = (status, cells[2].trimmingCharacters(in: CharacterSet(charactersIn: "`")))
        }
        return rows
    }
}
