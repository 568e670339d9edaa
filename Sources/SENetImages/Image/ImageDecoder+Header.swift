import CPNG
import CTurboJPEG
import Foundation

extension ImageDecoder {
    /// The width and height a JPEG or PNG file declares, read from its header by the same
    /// libraries that decode it, without decoding a pixel: a server prices a request by it before
    /// committing seconds of CPU. Nil for anything the decoder would refuse anyway.
    public static func declaredSize(data: Data) -> (width: Int, height: Int)? {
        data.withUnsafeBytes { bytes -> (width: Int, height: Int)? in
            guard let base = bytes.baseAddress, bytes.count >= 8 else { return nil }
            let file = UnsafeRawBufferPointer(start: base, count: bytes.count)
            if file.starts(with: [0xFF, 0xD8, 0xFF]) { return jpegSize(file) }
            if file.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return pngSize(file) }
            return nil
        }
    }

    private static func jpegSize(_ file: UnsafeRawBufferPointer) -> (width: Int, height: Int)? {
        guard let handle = tjInitDecompress() else { return nil }
        defer { tjDestroy(handle) }
        let source = file.bindMemory(to: UInt8.self)
        var (width, height, subsampling, colorspace): (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
        guard
            tjDecompressHeader3(handle, source.baseAddress, UInt(source.count), &width, &height, &subsampling, &colorspace)
                == 0, width > 0, height > 0
        else { return nil }
        return (Int(width), Int(height))
    }

    private static func pngSize(_ file: UnsafeRawBufferPointer) -> (width: Int, height: Int)? {
        guard let reader = senet_png_open(file.baseAddress, file.count) else { return nil }
        defer { senet_png_close(reader) }
        var (width, height): (UInt32, UInt32) = (0, 0)
        guard senet_png_read_info(reader, &width, &height) == 0, width > 0, height > 0 else { return nil }
        return (Int(width), Int(height))
    }
}
