import Foundation
import SENetCore
import XCTest

/// Fails with the max error, where it is, and the first values of both tensors when `actual`
/// is further than `tolerance` (relative to max |expected|) from `expected`.
public func assertClose(
    _ actual: Tensor, _ expected: Tensor, tolerance: Float, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    guard actual.shape == expected.shape else {
        return XCTFail("shape \(actual.shape) != expected \(expected.shape) \(message)", file: file, line: line)
    }
    let comparison = Comparison(actual: actual, expected: expected)
    if !comparison.passes(tolerance: tolerance) {
        let head = { (t: Tensor) in t.data.prefix(5).map { String(format: "%.6g", $0) }.joined(separator: ", ") }
        XCTFail(
            "\(message) \(comparison), tolerance \(tolerance); first values got [\(head(actual))] expected [\(head(expected))]",
            file: file, line: line)
    }
}

/// A fresh empty directory under the system temp dir, removed at the end of the test.
public func temporaryDirectory(_ testCase: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("senet-gpu-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}
