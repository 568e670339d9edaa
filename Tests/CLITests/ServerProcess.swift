import Foundation
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A `senet-gpu serve` child process on a free loopback port, with its log lines collected.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    private(set) var port = 0
    private let output = LogBox()
    private let reader: Thread

    /// Starts the server and waits until it is ready (or throws after `timeout`).
    /// Starts the server with no SIGTERM drain window unless `arguments` name one;
    /// `openFileLimit` runs it under `ulimit -n` of that many files.
    init(_ arguments: [String], waitForReady: Bool = true, timeout: TimeInterval = 240, openFileLimit: Int? = nil) throws {
        // No drain window unless a test asks: SIGTERM would otherwise keep serving 5 s.
        let window = arguments.contains("--drain-window") ? [] : ["--drain-window", "0"]
        let serve = ["serve", "--port", "0", "--log-format", "json"] + window + arguments
        if let openFileLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(openFileLimit) && exec \"$0\" \"$@\"", cliBinary.path] + serve
        } else {
            process.executableURL = cliBinary
            process.arguments = serve
        }
        var environment = ProcessInfo.processInfo.environment
        environment["SENET_GPU_CACHE"] = "off"
        process.environment = environment
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        let handle = err.fileHandleForReading
        let output = output
        reader = Thread {
            while case let data = handle.availableData, !data.isEmpty { output.append(data) }
        }
        try process.run()
        reader.start()
        let deadline = Date(timeIntervalSinceNow: timeout)
        while port == 0, Date() < deadline, process.isRunning {
            if let line = logLines.first(where: { $0["message"] as? String == "listening" }) {
                port = Int(line["port"] as? String ?? "") ?? 0
            }
            usleep(20_000)
        }
        guard port > 0 else { throw ServerError("the server did not start listening: \(log)") }
        if waitForReady { try waitUntilReady(timeout: timeout) }
    }

    func waitUntilReady(timeout: TimeInterval = 240) throws {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline, process.isRunning {
            if (try? get("/v2/health/ready").status) == 200 { return }
            usleep(50_000)
        }
        throw ServerError("the server did not become ready: \(log)")
    }

    /// Everything the server logged so far.
    var log: String { output.text }

    /// The JSON log lines.
    var logLines: [[String: Any]] {
        log.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    var url: String { "127.0.0.1:\(port)" }

    /// `host:port` of the gRPC listener (started with `--grpc-port 0`), from its log line.
    func grpcURL(timeout: TimeInterval = 30) throws -> String {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if let line = logLines.first(where: { $0["message"] as? String == "listening (gRPC)" }),
                let port = line["grpc_port"] as? String
            {
                return "127.0.0.1:\(port)"
            }
            usleep(20_000)
        }
        throw ServerError("the server logged no gRPC listener: \(log)")
    }

    /// SIGTERM, then the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate() } }

    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        /// The `error` field of a `{"error": ...}` body.
        var error: String? {
            (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["error"] as? String
        }
    }

    func get(_ path: String) throws -> Reply { try send("GET", path, body: nil, headers: [:]) }

    func post(_ path: String, body: Data, headers: [String: String] = [:]) throws -> Reply {
        try send("POST", path, body: body, headers: headers)
    }

    func send(_ method: String, _ path: String, body: Data?, headers: [String: String]) throws -> Reply {
        var request = URLRequest(url: URL(string: "http://\(url)\(path)")!, timeoutInterval: 120)
        request.httpMethod = method
        request.httpBody = body
        for (key, value) in headers { request.setValue(value, forHTTPHeaderField: key) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<Reply, Error> = .failure(ServerError("no reply"))
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                result = .failure(error)
            } else if let response = response as? HTTPURLResponse {
                var fields: [String: String] = [:]
                for (key, value) in response.allHeaderFields { fields["\(key)".lowercased()] = "\(value)" }
                result = .success(Reply(status: response.statusCode, headers: fields, body: data ?? Data()))
            }
            done.signal()
        }.resume()
        done.wait()
        return try result.get()
    }

    /// The value of one Prometheus sample line, e.g. `senet_requests_total{route="infer",status="200"}`.
    func metric(_ sample: String) throws -> Double? {
        let text = try get("/metrics").text
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1))
        }
        return nil
    }
}

/// What the reader thread collected from the server's stderr.
private final class LogBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ more: Data) { lock.withLock { data.append(more) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}

struct ServerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The Python with tritonclient[http], numpy and PyYAML (scripts/install-test-python.sh).
func testPython() throws -> URL {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let python = root.appendingPathComponent(".venv-test/bin/python")
    guard FileManager.default.isExecutableFile(atPath: python.path) else {
        throw ServerError("no \(python.path); run scripts/install-test-python.sh (tritonclient[http], numpy, PyYAML)")
    }
    return python
}

/// The repository root.
var repositoryRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Runs `Tests/serve/SCRIPT arguments…` with the test Python; its stdout (a JSON line).
func runClient(_ arguments: [String], script: String = "oip_client.py") throws -> (status: Int32, stdout: String, stderr: String)
{
    let process = Process()
    process.executableURL = try testPython()
    process.arguments = [repositoryRoot.appendingPathComponent("Tests/serve/\(script)").path] + arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let errors = LogBox()
    let reader = Thread { errors.append(err.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), errors.text)
}
