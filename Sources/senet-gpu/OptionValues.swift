import ArgumentParser
import Logging
import SENetEngine

// Option values as types: the argument parser refuses a value outside the choices itself,
// before anything loads, in one line that lists them (and `--help` shows them).

extension Precision: ExpressibleByArgument {}
extension Arithmetic: ExpressibleByArgument {}

/// `--kernel-family`: a family, or auto (chosen by the device's type).
enum KernelFamilyChoice: String, CaseIterable, ExpressibleByArgument {
    case auto, cpu, gpu

    /// The library's family; nil for auto.
    var family: KernelFamily? { self == .auto ? nil : KernelFamily(rawValue: rawValue) }
}

/// `--fallback`: where a plan that does not fit the device runs instead.
enum FallbackChoice: String, CaseIterable, ExpressibleByArgument {
    case cpu
}

/// `--log-level` of `serve`: swift-log's levels.
enum LogLevel: String, CaseIterable, ExpressibleByArgument {
    case trace, debug, info, notice, warning, error, critical

    var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .info }
}

/// `--log-format` of `serve`.
enum LogFormat: String, CaseIterable, ExpressibleByArgument {
    case json, text
}
