import Foundation
import SENetEngine

/// `--trace FILE`: a profiled run's kernel launches as a Chrome trace-event file, written
/// whole (temporary file, then rename) or not at all.
enum TraceFile {
    static let needsDevice = CLIError.invalidOption(
        "--trace records OpenCL kernel launches; run on a device (--device N), not the CPU reference")

    static func write(_ plan: ExecutionPlan, _ output: ExecutionPlan.Output, to path: String) throws {
        guard let data = try plan.chromeTrace(output) else {
            throw CLIError.invalidOption("--trace: the run recorded no kernel launches (every op ran on the CPU)")
        }
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CLIError.invalidOption(
                "--trace \(path): cannot write it (\(error.localizedDescription)); check that the folder exists and is writable")
        }
    }
}
