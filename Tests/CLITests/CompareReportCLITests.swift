import Foundation
import TestSupport
import XCTest

/// `compare --report FILE`: the page carries every layer's comparison, and a headless browser
/// (scripts/install-test-browser.sh) draws one point per layer, marks exactly the layers over
/// the tolerance, and gives the verdict.
final class CompareReportCLITests: XCTestCase {
    /// The headless Chromium binary, when the host has one.
    private static let browser: String? = {
        let names = ["chromium-headless-shell", "chromium", "chromium-browser"]
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init)
        for name in names {
            for directory in directories + ["/usr/lib/chromium"]
            where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
        }
        return nil
    }()

    /// The DOM after the page's scripts ran.
    private func render(_ path: String) throws -> String {
        guard let browser = Self.browser else {
            throw XCTSkip("no headless Chromium on this host; scripts/install-test-browser.sh installs one")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: browser)
        // Root in a container has no user namespace for Chromium's sandbox.
        process.arguments = ["--no-sandbox", "--disable-gpu", "--dump-dom", URL(fileURLWithPath: path).absoluteString]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "\(browser) --dump-dom")
        return String(decoding: data, as: UTF8.self)
    }

    private func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    func testReportChartsEveryLayerAndMarksThoseOverTheTolerance() throws {
        try skipWithoutOpenCL()
        let directory = try temporaryDirectory(self)
        let page = directory.appendingPathComponent("report.html").path
        // One layer made wrong on purpose: it and everything after it go over the tolerance.
        let result = try runCLI(
            ["compare", "--device", "0", "--model", "seresnet18", "--size", "32", "--json", "--report", page]
                + ["--debug-perturb", "layer3.0.conv1"])
        XCTAssertEqual(result.status, 1, result.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        let layers = summary["layers"] as! [[String: Any]]
        let tolerance = summary["tolerance"] as! Double
        let over = layers.filter { !(($0["relativeError"] as? Double).map { $0 <= tolerance } ?? false) }
        XCTAssertFalse(over.isEmpty)
        XCTAssertLessThan(over.count, layers.count, "the layers before the perturbed one pass")

        // The page's own data is the comparison printed.
        let html = try String(contentsOfFile: page, encoding: .utf8)
        let json = html.components(separatedBy: "id=\"comparisons\">")[1].components(separatedBy: "</script>")[0]
        let embedded = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [[String: Any]]
        XCTAssertEqual(
            (embedded[0]["layers"] as! [[String: Any]]).map { $0["name"] as! String }, layers.map { $0["name"] as! String })

        let dom = try render(page)
        XCTAssertTrue(dom.contains("data-rendered=\"1\""), "the script ran to its end")
        XCTAssertEqual(count("<circle class=\"layer", in: dom), layers.count)
        XCTAssertEqual(count("<circle class=\"layer over\"", in: dom), over.count)
        XCTAssertEqual(count("class=\"tolerance\"", in: dom), 1)
        XCTAssertTrue(dom.contains("first layer over it: layer3.0.conv1"), "the verdict names the perturbed layer")
        XCTAssertEqual(count("<tr class=", in: dom), layers.count, "one table row per layer")
    }

    func testReportOfAPassingComparisonShowsNoLayerOver() throws {
        try skipWithoutOpenCL()
        let page = try temporaryDirectory(self).appendingPathComponent("report.html").path
        let result = try runCLI(["compare", "--device", "0", "--model", "seresnet18", "--size", "32", "--report", page])
        XCTAssertEqual(result.status, 0, result.stderr)
        let dom = try render(page)
        XCTAssertGreaterThan(count("<circle class=\"layer\"", in: dom), 10)
        XCTAssertEqual(count("<circle class=\"layer over\"", in: dom), 0)
        XCTAssertTrue(dom.contains("PASS"))
    }

    func testAReportThatCannotBeWrittenIsOneErrorLine() throws {
        try skipWithoutOpenCL()
        let result = try runCLI(
            ["compare", "--device", "0", "--model", "seresnet18", "--size", "32", "--report", "/nonexistent/dir/report.html"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("report.html"), result.stderr)
    }
}
