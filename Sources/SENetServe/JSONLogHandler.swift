import Foundation
import Logging

/// swift-log handler writing one JSON object per line to stderr (what log collectors in a
/// cluster parse): time, level, logger, message and the metadata as fields.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private static let lock = NSLock()

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let quoted = InferResponseEncoder.quoted
        let time = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
        var text = "{\"time\":\(quoted(time)),\"level\":\"\(event.level)\",\"logger\":\(quoted(label))"
        text += ",\"message\":\(quoted("\(event.message)"))"
        if let error = event.error { text += ",\"error\":\(quoted("\(error)"))" }
        let fields = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            text += ",\(quoted(key)):\(quoted("\(value)"))"
        }
        text += "}\n"
        Self.lock.withLock { FileHandle.standardError.write(Data(text.utf8)) }
    }
}
