import ArgumentParser
import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Show where each layer runs, the transfers, buffers and memory, without running.")

    @OptionGroup var engineOptions: EngineOptions

    @OptionGroup var modelOptions: ModelOptions

    @Flag(name: .shortAndLong, help: "Also list, for each convolution, the algorithms passed over and why.")
    var verbose = false

    @Flag(help: "Print the plan as JSON: every op, and each convolution's algorithm, tiling, split-K and substitutions.")
    var json = false

    func run() throws {
        let plan: ExecutionPlan
        do {
            let (model, _) = try modelOptions.loadModel()
            let input = try modelOptions.loadInput()
            plan = try engineOptions.engine(for: model, calibration: input).plan(for: input.shape)
        } catch { throw SENetGPUCommand.fail(error) }
        if json {
            try printJSON(plan.report)
        } else {
            print(verbose ? plan.verboseDescription : plan.textDescription)
        }
    }
}
