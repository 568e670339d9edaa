import Foundation
import TestSupport
import XCTest

/// docs/DEPLOY.md's manifests and the Containerfile, checked by Tests/serve/check_manifests.py
/// against this binary's `serve --help`. There is no cluster or container engine here, so
/// parsing and cross-checking is all the deployment is tested by; this keeps the doc from
/// drifting from the server (a renamed flag, probe path or metric fails here).
final class DeployManifestTests: XCTestCase {
    private let deployDoc = repositoryRoot.appendingPathComponent("docs/DEPLOY.md")
    private let containerfile = repositoryRoot.appendingPathComponent("Containerfile")

    private func temporary(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("senet-deploy-\(UUID())-\(name)")
    }

    /// `senet-gpu serve --help` in a file, as the checker reads it.
    private func serveHelp() throws -> URL {
        let help = try runCLI(["serve", "--help"])
        XCTAssertEqual(help.status, 0, help.stderr)
        let url = temporary("serve-help.txt")
        try help.stdout.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// Runs the checker on `doc`; its exit status and stdout and stderr together.
    private func checkManifests(_ doc: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try testPython()
        let script = repositoryRoot.appendingPathComponent("Tests/serve/check_manifests.py")
        process.arguments = [script.path, doc.path, try serveHelp().path, containerfile.path]
        // One pipe for both streams, read to its end: no second reader is needed.
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testManifestsAgreeWithTheServeCommand() throws {
        let result = try checkManifests(deployDoc)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("checks passed"), result.output)
        // The checks that matter most ran, not just the parse.
        for check in [
            "flag --max-batch is in", "readinessProbe GETs /v2/health/ready", "scales Deployment/", "the doc names amd.com/gpu",
        ] {
            XCTAssertTrue(result.output.contains(check), "no '\(check)' in:\n\(result.output)")
        }
    }

    /// A misspelled flag must fail the checker, or a passing run proves nothing.
    func testAMisspelledFlagFailsTheCheck() throws {
        let text = try String(contentsOf: deployDoc, encoding: .utf8)
        XCTAssertTrue(text.contains("\"--max-batch\""), "DEPLOY.md no longer passes --max-batch; pick another flag here")
        let broken = temporary("DEPLOY.md")
        try text.replacingOccurrences(of: "--max-batch", with: "--max-bach").write(to: broken, atomically: true, encoding: .utf8)
        let result = try checkManifests(broken)
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("flag --max-bach is in `senet-gpu serve --help`"), result.output)
        XCTAssertTrue(result.output.contains("checks FAILED"), result.output)
    }
}
