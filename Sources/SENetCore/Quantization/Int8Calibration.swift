import Foundation

/// What `senet-gpu calibrate` writes, and `--precision int8` reads: for every op of one model,
/// int8 or fp32 and why, with the int8 ops' scales. JSON with snake_case keys.
///
/// Int8 is symmetric: a value x is stored as round(x / scale) clamped to ±127. Weights have a
/// scale per output channel (max |w| / 127); an op's input feature map has one scale, from its
/// magnitudes over the calibration data at the clip (the maximum or a percentile) whose
/// quantization error was measured smallest.
public struct Int8Calibration: Codable, Sendable, Equatable {
    public static let formatName = "senet-gpu-int8-calibration"
    public static let currentVersion = 1

    public var format = Self.formatName
    public var version = Self.currentVersion
    /// The architecture's name (`seresnet50`): a file calibrates one model.
    public var model: String
    public var calibration: Source
    /// Every op of the graph, in graph order.
    public var ops: [Op]

    public init(model: String, calibration: Source, ops: [Op]) {
        (self.model, self.calibration, self.ops) = (model, calibration, ops)
    }

    /// The data the activation scales were measured on.
    public struct Source: Codable, Sendable, Equatable {
        public var images: Int
        public var inputShape: [Int]
        /// Where the images came from (a folder, a .npy, or the seeded synthetic input).
        public var origin: String

        public init(images: Int, inputShape: [Int], origin: String) {
            (self.images, self.inputShape, self.origin) = (images, inputShape, origin)
        }
    }

    public enum Precision: String, Codable, Sendable {
        case int8, fp32
    }

    public struct Op: Codable, Sendable, Equatable {
        public var name: String
        public var kind: String
        public var precision: Precision
        /// Why the op stays in fp32 (or how its int8 form is built).
        public var reason: String
        /// Per output channel; int8 ops only.
        public var weightScales: [Float]?
        /// Relative RMS error of the weights once quantized.
        public var weightError: Float?
        /// The input feature map's scale, the clip it came from (`max`, `p99.99`, …) and that
        /// clip's relative RMS error on the calibration data.
        public var inputScale: Float?
        public var inputMethod: String?
        public var inputError: Float?
        /// The input held no negative value on the calibration data (a ReLU's output).
        public var inputNonNegative: Bool?

        public init(name: String, kind: String, precision: Precision, reason: String) {
            (self.name, self.kind, self.precision, self.reason) = (name, kind, precision, reason)
        }
    }

    /// What a graph op must find in the file: its name, kind and, for the kinds that may be
    /// int8, its output channels.
    public struct Expected: Sendable, Equatable {
        public let name: String
        public let kind: String
        public let outputChannels: Int?

        public init(name: String, kind: String, outputChannels: Int?) {
            (self.name, self.kind, self.outputChannels) = (name, kind, outputChannels)
        }
    }

    /// The kinds with an int8 form.
    public static let int8Kinds: Set<String> = ["conv", "linear"]

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }

    /// Parses a calibration file's bytes; `path` names it in errors.
    public static func decode(_ data: Data, path: String) throws -> Int8Calibration {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        // The format's name first: another JSON file gets a plain "not a calibration file".
        struct Header: Decodable { let format: String?, version: Int? }
        guard let header = try? decoder.decode(Header.self, from: data), header.format == formatName else {
            throw InputError.invalidCalibration(
                path: path, reason: "not a senet-gpu int8 calibration file (no \"format\": \"\(formatName)\")")
        }
        guard header.version == currentVersion else {
            throw InputError.invalidCalibration(
                path: path,
                reason:
                    "version \(header.version.map(String.init) ?? "none") is not \(currentVersion), the one this senet-gpu reads")
        }
        do {
            return try decoder.decode(Int8Calibration.self, from: data)
        } catch let error as DecodingError {
            throw InputError.invalidCalibration(path: path, reason: Self.describe(error))
        }
    }

    /// Checks the file against the ops of `model`'s graph: the same ops by name and kind, and
    /// each int8 op's scales whole, finite and positive.
    public func validate(model expectedModel: String, ops expected: [Expected], path: String) throws {
        func fail(_ reason: String) -> InputError { .invalidCalibration(path: path, reason: reason) }
        guard model == expectedModel else {
            throw fail("it calibrates \(model.escapingLineBreaks), not \(expectedModel)")
        }
        guard calibration.images >= 1 else { throw fail("calibration.images is \(calibration.images)") }
        var byName: [String: Op] = [:]
        for op in ops {
            guard byName.updateValue(op, forKey: op.name) == nil else {
                throw fail("op \(op.name.escapingLineBreaks) is listed twice")
            }
        }
        let names = Set(expected.map(\.name))
        if let extra = ops.first(where: { !names.contains($0.name) }) {
            throw fail("op \(extra.name.escapingLineBreaks) is not in \(expectedModel)'s graph")
        }
        for want in expected {
            guard let op = byName[want.name] else { throw fail("op \(want.name) is missing") }
            guard op.kind == want.kind else {
                throw fail("op \(want.name) is a \(want.kind), not a \(op.kind.escapingLineBreaks)")
            }
            try check(op, want, fail)
        }
    }

    private func check(_ op: Op, _ want: Expected, _ fail: (String) -> InputError) throws {
        guard op.precision == .int8 else { return }
        guard Self.int8Kinds.contains(op.kind), let channels = want.outputChannels else {
            throw fail("op \(op.name) is int8, but a \(op.kind) has no int8 form; make it fp32")
        }
        guard let scales = op.weightScales, scales.count == channels else {
            throw fail("op \(op.name) has \(op.weightScales?.count ?? 0) weight scales for its \(channels) output channels")
        }
        if let bad = scales.firstIndex(where: { !($0.isFinite && $0 > 0) }) {
            throw fail("op \(op.name): weight scale \(bad) is \(scales[bad]), not a finite positive number")
        }
        guard let input = op.inputScale, input.isFinite, input > 0 else {
            throw fail(
                "op \(op.name): input_scale is \(op.inputScale.map { "\($0)" } ?? "missing"), not a finite positive number")
        }
        for (key, value) in [("weight_error", op.weightError), ("input_error", op.inputError)] {
            if let value, !(value.isFinite && value >= 0) { throw fail("op \(op.name): \(key) is \(value)") }
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func at(_ path: [CodingKey]) -> String {
            path.isEmpty ? "the top level" : path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(at(context.codingPath + [key])) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "\(at(context.codingPath)) has the wrong type"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(at(context.codingPath)) is not valid"
        @unknown default: return "not valid"
        }
    }
}
