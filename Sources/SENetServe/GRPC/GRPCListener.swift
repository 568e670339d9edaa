import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle

/// The gRPC listener as one more service of the server's group: it starts beside the HTTP
/// listener, and the group's graceful shutdown (SIGTERM after the drain window) stops it from
/// taking new calls while the calls in flight are answered.
struct GRPCListener: Service {
    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let address: String
    let logger: Logger

    /// `service` on `host:port`, with REST's request-size limit and idle timeout.
    init(service: GRPCInferenceService, host: String, port: Int, maxRequestBytes: Int, idleTimeout: Double, logger: Logger) {
        let socket: SocketAddress =
            host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host, port: port)
        let transport = HTTP2ServerTransport.Posix(
            address: socket, transportSecurity: .plaintext,
            config: .defaults {
                $0.rpc.maxRequestPayloadSize = maxRequestBytes
                $0.connection.maxIdleTime = .milliseconds(Int64(idleTimeout * 1000))
            })
        server = GRPCServer(transport: transport, services: [service])
        address = "\(host):\(port)"
        self.logger = logger
    }

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    do {
                        try await server.serve()
                    } catch {
                        throw ServeError(status: 500, message: "the gRPC listener on \(address) failed: \(error)")
                    }
                }
                // Nil when the bind failed: the serve task then throws why.
                if let bound = try? await server.listeningAddress {
                    logger.info("listening (gRPC)", metadata: ["address": "\(bound)", "grpc_port": "\(bound.port)"])
                }
            }
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}

extension SocketAddress {
    /// The port of an IP address; 0 otherwise.
    var port: Int {
        if let ipv4 { return ipv4.port }
        if let ipv6 { return ipv6.port }
        return 0
    }
}
