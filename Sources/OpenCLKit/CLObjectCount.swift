import Foundation

/// Counts the OpenCL objects this process holds, by kind, so tests can prove that repeated
/// inferences release everything they create.
public enum CLObjectCount {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var counts: [String: Int] = [:]

    /// Live objects of each kind (`context`, `queue`, `buffer`, `program`, `kernel`, `event`).
    public static var byKind: [String: Int] { lock.withLock { counts.filter { $0.value != 0 } } }

    /// All live OpenCL objects.
    public static var total: Int { lock.withLock { counts.values.reduce(0, +) } }

    static func created(_ kind: String) { lock.withLock { counts[kind, default: 0] += 1 } }
    static func released(_ kind: String) { lock.withLock { counts[kind, default: 0] -= 1 } }
}
