import CPNG
import CTurboJPEG
import Foundation
import SENetCore

extension ImageDecoder {
    // MARK: JPEG (libjpeg-turbo)

    /// Decodes with tjDecompress2 to RGB with the library's defaults, as PIL does: accurate
    /// integer IDCT (ISLOW) and fancy upsampling; grey is replicated by the library.
    static func decodeJPEG(_ file: UnsafeRawBufferPointer, name: String) throws -> RGBImage {
        func fail(_ reason: String) -> InputError { .invalidImage(path: name, reason: reason) }
        // A cut file usually fails on whatever structure comes next; say what most likely happened.
        func libraryError(_ message: String) -> InputError {
            let complete = file.count >= 2 && file[file.count - 2] == 0xFF && file[file.count - 1] == 0xD9
            return fail(complete ? "libjpeg-turbo: \(message)" : "the file is truncated (libjpeg-turbo: \(message))")
        }
        guard let handle = tjInitDecompress() else {
            throw fail("libjpeg-turbo could not start: \(String(cString: tjGetErrorStr2(nil)))")
        }
        defer { tjDestroy(handle) }
        let source = file.bindMemory(to: UInt8.self)
        let size = UInt(source.count)

        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, source.baseAddress, size, &width, &height, &subsampling, &colorspace) == 0 else {
            throw libraryError(String(cString: tjGetErrorStr2(handle)))
        }
        if colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue) {
            throw fail("CMYK JPEG is not supported")
        }
        // The header read stops quietly at the end of the data when no frame header came first.
        if width == 0 || height == 0 { throw fail("no image in the JPEG data; the file may be truncated") }
        try checkSize(width: Int(width), height: Int(height), name: name)

        // pixels: [height, width, 3] uint8
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
        let status = pixels.withUnsafeMutableBufferPointer { out in
            tjDecompress2(
                handle, source.baseAddress, size, out.baseAddress, width, 0, height, Int32(TJPF_RGB.rawValue),
                TJFLAG_ACCURATEDCT
            )
        }
        if status != 0 {
            // Warnings still give an image. PIL accepts those (e.g. extraneous bytes before a
            // marker) except running out of data, where libjpeg pads the image with grey.
            let message = String(cString: tjGetErrorStr2(handle))
            if tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) || message.contains("Premature end of JPEG file") {
                throw libraryError(message)
            }
        }
        return RGBImage(width: Int(width), height: Int(height), pixels: pixels)
    }

    // MARK: PNG (libpng)

    /// Decodes with libpng's low-level API through the C functions of CPNG/shim.h, which keep
    /// libpng's longjmp inside C and convert as PIL's convert("RGB") does.
    static func decodePNG(_ file: UnsafeRawBufferPointer, name: String) throws -> RGBImage {
        func fail(_ reason: String) -> InputError { .invalidImage(path: name, reason: reason) }
        guard let reader = senet_png_open(file.baseAddress, file.count) else {
            throw fail("libpng could not start (out of memory)")
        }
        defer { senet_png_close(reader) }
        func libpngError() -> InputError {
            let message = withUnsafeBytes(of: reader.pointee.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            return fail(message.contains("truncated") ? message : "libpng: \(message)")
        }

        var width: UInt32 = 0
        var height: UInt32 = 0
        guard senet_png_read_info(reader, &width, &height) == 0 else { throw libpngError() }
        try checkSize(width: Int(width), height: Int(height), name: name)

        // pixels: [height, width, 3] uint8
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
        let status = pixels.withUnsafeMutableBufferPointer { senet_png_read_rgb(reader, $0.baseAddress) }
        guard status == 0 else { throw libpngError() }
        return RGBImage(width: Int(width), height: Int(height), pixels: pixels)
    }
}
