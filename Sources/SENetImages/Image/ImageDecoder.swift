import Foundation
import SENetCore

/// An 8-bit RGB image as decoded from a file.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// [height, width, 3] uint8, row-major, RGB interleaved.
    public let pixels: [UInt8]

    /// An image from its pixels; `pixels` must hold `height * width * 3` bytes.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3, "RGBImage: pixel count mismatch")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// Decodes JPEG (libjpeg-turbo) and PNG (libpng) files to 8-bit RGB, giving the same bytes as
/// PIL's `Image.open(path).convert("RGB")`, with two deliberate differences: CMYK JPEGs are
/// rejected, and 16-bit grey PNGs keep their high byte where PIL clips the value at 255.
public enum ImageDecoder {
    /// The largest width or height accepted.
    static let maxSide = 16384
    /// The largest pixel count accepted (100 megapixels).
    static let maxPixels = 100_000_000

    /// Decodes the JPEG or PNG file at `path`; the format is read from the file's first bytes.
    public static func decode(path: String) throws -> RGBImage {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw InputError.unreadable(path: path, reason: error.localizedDescription)
        }
        return try decode(data: data, name: path)
    }

    /// Decodes a JPEG or PNG file held in memory; `name` appears in errors.
    public static func decode(data: Data, name: String) throws -> RGBImage {
        try data.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress, !bytes.isEmpty else {
                throw InputError.invalidImage(path: name, reason: "the file is empty")
            }
            let file = UnsafeRawBufferPointer(start: base, count: bytes.count)
            if file.starts(with: [0xFF, 0xD8, 0xFF]) { return try decodeJPEG(file, name: name) }
            if file.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return try decodePNG(file, name: name) }
            let head = file.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw InputError.invalidImage(path: name, reason: "not a JPEG or PNG file (it starts with \(head))")
        }
    }

    /// Whether `path` names an image by its extension: jpg, jpeg or png, in any case.
    public static func isImageFile(_ path: String) -> Bool {
        ["jpg", "jpeg", "png"].contains(URL(fileURLWithPath: path).pathExtension.lowercased())
    }

    /// Throws before anything is allocated when a declared size is over the limits.
    static func checkSize(width: Int, height: Int, name: String) throws {
        guard width > 0, height > 0 else {
            throw InputError.invalidImage(path: name, reason: "the image declares a size of \(width)×\(height)")
        }
        guard width <= maxSide, height <= maxSide, width * height <= maxPixels else {
            throw InputError.invalidImage(
                path: name,
                reason: "\(width)×\(height) pixels is too large (at most \(maxSide) on a side and 100 megapixels)"
            )
        }
    }
}
