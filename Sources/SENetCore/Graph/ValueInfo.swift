/// How the values of a tensor are stored. Arithmetic on them is fp32 either way unless a
/// kernel is built for half arithmetic.
public enum ElementType: String, Sendable, Codable, CaseIterable {
    case float32
    /// IEEE half: 11 significant bits, largest finite value 65504.
    case float16
    /// Signed 8-bit codes of an int8 plan's quantized feature maps (value = code × scale).
    case int8

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32: return 4
        case .float16: return 2
        case .int8: return 1
        }
    }
}

/// The order of a value's elements. Channel-blocked layouts (NCHWc) arrive as new cases.
public enum Layout: String, Sendable, Codable, CaseIterable {
    /// [N, C, H, W], row-major: images and activations.
    case nchw
    /// [N, C], row-major: pooled features, SE scales, logits.
    case nc
    /// [N, ⌈C/4⌉, H, W, 4]: four channels per pixel side by side, zeros past C, so an int8
    /// kernel reads four channels in one 32-bit load (MNN's NC4HW4).
    case nc4hw4
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
    /// Elements stored, padding included: `nc4hw4` rounds the channels up to a multiple of 4.
    public var storedCount: Int {
        guard layout == .nc4hw4 else { return count }
        return count / shape[1] * ((shape[1] + 3) / 4 * 4)
    }
    /// Bytes it takes in memory.
    public var byteCount: Int { storedCount * elementType.byteSize }

    public var description: String { "\(shape) \(elementType.rawValue) \(layout.rawValue)" }
}
