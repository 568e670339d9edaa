/// How the values of a tensor are stored. Arithmetic on them is fp32 either way unless a
/// kernel is built for half arithmetic.
public enum ElementType: String, Sendable, Codable, CaseIterable {
    case float32
    /// IEEE half: 11 significant bits, largest finite value 65504.
    case float16

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32: return 4
        case .float16: return 2
        }
    }
}

/// The order of a value's elements. Channel-blocked layouts (NCHWc) arrive as new cases.
public enum Layout: String, Sendable, Codable, CaseIterable {
    /// [N, C, H, W], row-major: images and activations.
    case nchw
    /// [N, C], row-major: pooled features, SE scales, logits.
    case nc
}

/// One value flowing between ops: its name (the op that makes it), shape, element type and layout.
public struct ValueInfo: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    /// Logical shape: [N, C, H, W] or [N, C], whatever the layout stores.
    public var shape: [Int]
    public var elementType: ElementType
    public var layout: Layout

    public init(name: String, shape: [Int], elementType: ElementType = .float32, layout: Layout? = nil) {
        self.name = name
        self.shape = shape
        self.elementType = elementType
        self.layout = layout ?? (shape.count == 4 ? .nchw : .nc)
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Bytes it takes in memory.
    public var byteCount: Int { count * elementType.byteSize }

    public var description: String { "\(shape) \(elementType.rawValue) \(layout.rawValue)" }
}
