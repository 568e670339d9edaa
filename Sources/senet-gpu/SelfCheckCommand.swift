import ArgumentParser
import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages

struct SelfCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfcheck",
        abstract: "Build every kernel on a device and check it against the CPU reference.")

    @Option(help: "Device index from `senet-gpu devices`.")
    var device = 0

    @OptionGroup var kernelOptions: KernelOptions

    @Option(help: "fp32, or fp16 (half storage on every kernel, and half arithmetic where the device has cl_khr_fp16).")
    var precision = Precision.fp32

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Report: Encodable {
        struct Row: Encodable {
            let kernel, shape: String
            let relativeError, tolerance: Float
            let passed: Bool
        }
        let device: String
        let precision: String
        let rows: [Row]
        let compiledFromSource, loadedFromDisk: Int
        let seconds: Double
        let passed: Bool
    }

    func run() throws {
        let start = Date()
        let report: Report
        do {
            let chosen = precision
            let runtime = try kernelOptions.openRuntime(index: device)
            let results = try KernelSelfCheck.run(on: runtime, precision: chosen)
            let stats = runtime.programs.statistics
            report = Report(
                device: runtime.device.description, precision: chosen.rawValue,
                rows: results.map {
                    .init(
                        kernel: $0.kernel, shape: $0.shape, relativeError: $0.comparison.relativeError,
                        tolerance: $0.tolerance, passed: $0.passed)
                },
                compiledFromSource: stats.compiledFromSource, loadedFromDisk: stats.loadedFromDisk,
                seconds: Date().timeIntervalSince(start), passed: results.allSatisfy(\.passed))
        } catch { throw SENetGPUCommand.fail(error) }

        if json {
            try printJSON(report)
        } else {
            print("kernel self-check on \(report.device), \(report.precision)")
            for row in report.rows {
                let error = String(format: "%.2e", row.relativeError)
                print(
                    "  \(row.passed ? "ok  " : "FAIL") \(row.kernel.padding(toLength: 24, withPad: " ", startingAt: 0)) "
                        + "\(row.shape.padding(toLength: 46, withPad: " ", startingAt: 0)) rel err \(error)")
            }
            print(
                String(
                    format: "%d/%d passed in %.2f s (programs: %d compiled, %d from disk cache)",
                    report.rows.filter(\.passed).count, report.rows.count, report.seconds,
                    report.compiledFromSource, report.loadedFromDisk))
        }
        if !report.passed { throw ExitCode.failure }
    }
}
