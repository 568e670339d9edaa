import Foundation
import NIOCore

/// Every open connection, and since when each has been idle (no request between its head and
/// its response's end). At the cap a new connection closes the one idle longest, as nginx reuses
/// keep-alive connections; when none is idle the new one is closed. So idle connections can
/// never use up the process's open files and lock out a new client.
final class ConnectionRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var open: [ObjectIdentifier: (channel: any Channel, idleSince: UInt64?)] = [:]
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func admit(_ channel: any Channel) {
        let now = DispatchTime.now().uptimeNanoseconds
        let (victim, refused): ((any Channel)?, Bool) = lock.withLock {
            var victim: (any Channel)?
            if open.count >= limit {
                guard
                    let oldest = open.filter({ $0.value.idleSince != nil }).min(by: { $0.value.idleSince! < $1.value.idleSince! })
                else { return (nil, true) }
                open[oldest.key] = nil
                victim = oldest.value.channel
            }
            open[ObjectIdentifier(channel)] = (channel, now)
            return (victim, false)
        }
        victim?.close(promise: nil)
        if refused { channel.close(promise: nil) }
    }

    func setIdle(_ channel: any Channel, _ idle: Bool) {
        let now = DispatchTime.now().uptimeNanoseconds
        lock.withLock { open[ObjectIdentifier(channel)]?.idleSince = idle ? now : nil }
    }

    func remove(_ channel: any Channel) {
        _ = lock.withLock { open.removeValue(forKey: ObjectIdentifier(channel)) }
    }
}
