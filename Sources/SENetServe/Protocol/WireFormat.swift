import Foundation

/// The request's JSON as sent, read with JSONDecoder: every field optional, so that a missing
/// one gets our message rather than DecodingError's. JSONDecoder reads a 150,528-value input
/// about 20× faster than JSONSerialization plus casts on Linux.
struct WireRequest: Decodable {
    var id: String?
    var inputs: [WireInput]?
    var outputs: [WireOutput]?
    var parameters: [String: JSONValue]?
}

struct WireInput: Decodable {
    var name: String?
    var shape: [JSONValue]?
    var datatype: String?
    var parameters: [String: JSONValue]?
    var data: WireData?
}

struct WireOutput: Decodable {
    var name: String?
    var parameters: [String: JSONValue]?
}

/// Any JSON value, for parameters and shapes.
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let flag = try? single.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? single.decode(Double.self) {
            self = .number(number)
        } else if let text = try? single.decode(String.self) {
            self = .string(text)
        } else if let list = try? single.decode([JSONValue].self) {
            self = .array(list)
        } else {
            self = .object(try single.decode([String: JSONValue].self))
        }
    }

    /// A whole number within Int's range.
    var integer: Int? {
        guard case .number(let value) = self, value.rounded() == value, abs(value) < 1e15 else { return nil }
        return Int(value)
    }
}

/// An input's `data`: numbers or strings (or `{"b64": ...}` objects), flat or nested in arrays,
/// flattened in row-major order.
struct WireData: Decodable {
    var numbers: [Double] = []
    var strings: [String] = []
    /// Neither numbers nor strings: what the first such element was.
    var invalid: String?

    init(from decoder: Decoder) throws {
        try collect(decoder, depth: 0)
    }

    private struct Base64Object: Decodable {
        let b64: String
    }

    private mutating func collect(_ decoder: Decoder, depth: Int) throws {
        guard depth <= RequestLimits.maxDimensions else {
            invalid = "arrays nested deeper than \(RequestLimits.maxDimensions)"
            return
        }
        guard var list = try? decoder.unkeyedContainer() else {
            try element(decoder.singleValueContainer())
            return
        }
        while !list.isAtEnd, invalid == nil {
            guard numbers.count + strings.count <= RequestLimits.maxElements else {
                invalid = "more than \(RequestLimits.maxElements) values"
                return
            }
            if let number = try? list.decode(Double.self) {
                numbers.append(number)
            } else {
                try collect(try list.superDecoder(), depth: depth + 1)
            }
        }
    }

    private mutating func element(_ single: SingleValueDecodingContainer) throws {
        if let number = try? single.decode(Double.self) {
            numbers.append(number)
        } else if let text = try? single.decode(String.self) {
            strings.append(text)
        } else if let object = try? single.decode(Base64Object.self) {
            strings.append(object.b64)
        } else {
            invalid = "a value that is neither a number nor a string"
        }
    }
}

extension DecodingError {
    /// One line: where in the JSON, and what was wrong.
    var requestMessage: String {
        func path(_ keys: [CodingKey]) -> String {
            let text = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.hasPrefix(".") ? String(text.dropFirst()) : text
        }
        switch self {
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let place = path(context.codingPath)
            if place.isEmpty { return "the request body is not a JSON object" }
            return "'\(place)' is not \(Self.describe(type))"
        case .keyNotFound(let key, let context):
            return "'\(path(context.codingPath + [key]))' is missing"
        case .dataCorrupted:
            return "the request body is not a JSON object (malformed JSON)"
        @unknown default:
            return "the request body is not a valid inference request"
        }
    }

    /// "an array", "an object", "a string", "a number" or "true or false".
    private static func describe(_ type: Any.Type) -> String {
        let name = "\(type)"
        if name.hasPrefix("Array") || name.hasPrefix("[") { return "an array" }
        if name.hasPrefix("Dictionary") || name.contains(":") { return "an object" }
        if type == String.self { return "a string" }
        if type == Bool.self { return "true or false" }
        return "a number"
    }
}
