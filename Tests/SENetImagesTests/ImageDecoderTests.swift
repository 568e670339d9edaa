import CoreTestSupport
import Foundation
import XCTest

@testable import SENetCore
@testable import SENetImages

final class ImageDecoderTests: XCTestCase {
    private let folder = ModelFixture.directory.appendingPathComponent("images")

    private func fixture(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// Asserts that decoding throws `invalidImage` whose description contains `fragment`.
    private func assertRejects(
        _ decode: @autoclosure () throws -> RGBImage,
        _ fragment: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertThrowsError(try decode(), file: file, line: line) { error in
            guard case InputError.invalidImage = error else {
                return XCTFail("expected invalidImage, got «\(error)»", file: file, line: line)
            }
            XCTAssertTrue("\(error)".contains(fragment), "«\(error)» lacks «\(fragment)»", file: file, line: line)
        }
    }

    // MARK: PIL parity

    /// Every decodable fixture gives exactly the bytes of PIL's `Image.open(p).convert("RGB")`
    /// (grey16.png: the high byte, where PIL clips at 255; see tools/make_image_fixtures.py).
    func testDecodesEveryFixtureExactlyAsPIL() throws {
        struct Size: Decodable { let width: Int, height: Int }
        let expected = try JSONDecoder().decode(
            [String: Size].self,
            from: Data(contentsOf: folder.appendingPathComponent("expected.json"))
        )
        XCTAssertGreaterThanOrEqual(expected.count, 14)
        for (name, size) in expected.sorted(by: { $0.key < $1.key }) {
            let image = try ImageDecoder.decode(path: fixture(name))
            XCTAssertEqual([image.width, image.height], [size.width, size.height], name)
            let want = [UInt8](try Data(contentsOf: folder.appendingPathComponent("\(name).rgb")))
            XCTAssertEqual(image.pixels.count, want.count, name)
            guard image.pixels.count == want.count, image.pixels != want else { continue }
            var worst = (difference: 0, index: 0)
            var count = 0
            for (index, (ours, theirs)) in zip(image.pixels, want).enumerated() where ours != theirs {
                count += 1
                let difference = abs(Int(ours) - Int(theirs))
                if difference > worst.difference { worst = (difference, index) }
            }
            let pixel = worst.index / 3
            XCTFail(
                "\(name): \(count) bytes differ from PIL; max difference \(worst.difference) at "
                    + "y \(pixel / size.width), x \(pixel % size.width), channel \(worst.index % 3)"
            )
        }
    }

    func testDecodesFromMemoryAsFromAFile() throws {
        for name in ["rgb.png", "baseline.jpg"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: fixture(name)))
            XCTAssertEqual(try ImageDecoder.decode(data: data, name: name), try ImageDecoder.decode(path: fixture(name)))
        }
    }

    // MARK: rejected input

    /// The files are decoded under a neutral name so that the name cannot satisfy the check.
    func testRejectsUnsupportedAndDamagedFiles() throws {
        let cases = [
            ("cmyk.jpg", "CMYK JPEG is not supported"),
            ("truncated.png", "the file is truncated"),
            ("truncated.jpg", "the file is truncated"),
            ("not_an_image.png", "not a JPEG or PNG file (it starts with 54 68 69 73"),
        ]
        for (name, fragment) in cases {
            let data = try Data(contentsOf: URL(fileURLWithPath: fixture(name)))
            assertRejects(try ImageDecoder.decode(data: data, name: "input"), fragment)
        }
        // Cut inside the entropy-coded data: libjpeg only warns and pads with grey; PIL refuses.
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: fixture("baseline.jpg")))
        assertRejects(try ImageDecoder.decode(data: jpeg.prefix(jpeg.count * 9 / 10), name: "input"), "Premature end")
        assertRejects(try ImageDecoder.decode(data: Data(), name: "input"), "the file is empty")
        assertRejects(try ImageDecoder.decode(data: Data([0xFF, 0xD8, 0xFF]), name: "input"), "no image")
        assertRejects(try ImageDecoder.decode(data: Data([0x89] + Array("PNG\r\n\u{1A}\n".utf8)), name: "input"), "truncated")
    }

    func testErrorsNameTheFileAndWhatIsSupported() {
        assertRejects(try ImageDecoder.decode(path: fixture("cmyk.jpg")), "image \(fixture("cmyk.jpg")): ")
        assertRejects(try ImageDecoder.decode(path: fixture("cmyk.jpg")), "CMYK JPEG is not supported")
    }

    func testMissingFileIsUnreadable() {
        XCTAssertThrowsError(try ImageDecoder.decode(path: fixture("missing.png"))) { error in
            guard case InputError.unreadable = error else { return XCTFail("got «\(error)»") }
        }
    }

    func testCorruptPNGDataIsAnErrorNotACrash() throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: fixture("rgb.png")))
        data[data.count / 2] ^= 0xFF  // inside IDAT: the CRC no longer matches
        assertRejects(try ImageDecoder.decode(data: data, name: "corrupt.png"), "libpng: ")
    }

    /// Cut and corrupted copies of every fixture decode or throw `invalidImage`; none crashes.
    func testDamagedCopiesThrowOrDecodeButNeverCrash() throws {
        for name in ["rgb.png", "interlaced.png", "palette.png", "rgb16.png", "baseline.jpg", "progressive.jpg"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: fixture(name)))
            var copies = stride(from: 1, to: data.count, by: 97).map { data.prefix($0) }
            for position in stride(from: 3, to: data.count, by: 53) {
                var copy = data
                copy[position] = copy[position] &+ 0x5B
                copies.append(copy)
            }
            for copy in copies {
                _ = ImageDecoder.declaredSize(data: copy)  // The server's header read: never a crash.
                do {
                    _ = try ImageDecoder.decode(data: copy, name: name)
                } catch InputError.invalidImage {
                } catch {
                    XCTFail("\(name) (\(copy.count) bytes): unexpected «\(error)»")
                }
            }
        }
    }

    /// A PNG whose header declares a huge size (valid IHDR and an empty IDAT): rejected before
    /// any pixel memory is allocated.
    func testRejectsHugeDeclaredSizesBeforeAllocating() {
        for (width, height) in [(100_000, 100_000), (20_000, 10), (12_000, 9_000)] {
            assertRejects(try ImageDecoder.decode(data: png(width: width, height: height), name: "huge.png"), "too large")
        }
        assertRejects(try ImageDecoder.decode(data: jpegHeader(width: 60_000, height: 60_000), name: "huge.jpg"), "too large")
    }

    /// The server prices requests by declared sizes: the header's size for huge images (that
    /// decoding would refuse), each fixture's decoded size, and nil for what is not an image.
    func testDeclaredSizeComesFromTheHeaderAlone() throws {
        let huge = try XCTUnwrap(ImageDecoder.declaredSize(data: png(width: 12_000, height: 9_000)))
        XCTAssertEqual([huge.width, huge.height], [12_000, 9_000])
        let jpeg = try XCTUnwrap(ImageDecoder.declaredSize(data: jpegHeader(width: 30_000, height: 20_000)))
        XCTAssertEqual([jpeg.width, jpeg.height], [30_000, 20_000])
        for name in ["rgb.png", "interlaced.png", "baseline.jpg", "progressive.jpg"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: fixture(name)))
            let image = try ImageDecoder.decode(data: data, name: name)
            let size = try XCTUnwrap(ImageDecoder.declaredSize(data: data), name)
            XCTAssertEqual([size.width, size.height], [image.width, image.height], name)
            XCTAssertNil(ImageDecoder.declaredSize(data: data.prefix(12)), "\(name) cut before its size")
        }
        XCTAssertNil(ImageDecoder.declaredSize(data: Data("This is not an image".utf8)))
        XCTAssertNil(ImageDecoder.declaredSize(data: Data()))
    }

    // MARK: file names

    func testIsImageFileByExtension() {
        for path in ["a.jpg", "b.JPEG", "dir/c.Png", "/x/y.jpeg"] { XCTAssertTrue(ImageDecoder.isImageFile(path), path) }
        for path in ["a.npy", "jpg", "b.png.txt", "c.gif", "d"] { XCTAssertFalse(ImageDecoder.isImageFile(path), path) }
    }

    // MARK: crafted headers

    /// Signature, IHDR (8-bit RGB) and an empty IDAT: libpng reads the size and stops at IDAT.
    private func png(width: Int, height: Int) -> Data {
        func chunk(_ type: String, _ payload: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + payload
            return bigEndian(UInt32(payload.count)) + body + bigEndian(crc32(body))
        }
        let header = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0]
        return Data([0x89] + Array("PNG\r\n\u{1A}\n".utf8) + chunk("IHDR", header) + chunk("IDAT", []) + chunk("IEND", []))
    }

    /// SOI, a baseline SOF0 for three components and an SOS header: enough for the header read.
    private func jpegHeader(width: Int, height: Int) -> Data {
        let frame: [UInt8] =
            [0xFF, 0xC0, 0, 17, 8] + bigEndian16(height) + bigEndian16(width) + [3, 1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0]
        let scan: [UInt8] = [0xFF, 0xDA, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]
        return Data([0xFF, 0xD8] + frame + scan + [0xFF, 0xD9])
    }

    private func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }

    private func bigEndian16(_ value: Int) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    /// The CRC-32 of PNG chunks (polynomial 0xEDB88320), bit by bit.
    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
