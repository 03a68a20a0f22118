// DisklessSync: a full sync without a file (repl-diskless-sync yes). A forked child writes the RDB to a
// pipe; the event loop relays what arrives to every replica in the transfer, framed as
// `$EOF:<40 random bytes>\r\n` … `<the same 40 bytes>` since the length is not known in advance.
// When the child has exited successfully the marker goes out, followed by the stream written meanwhile.
#if canImport(Glibc)
import Glibc
#endif
import Engine
import Persistence
import StorageFormat

extension CairnServer {
    func startDisklessSync() {
        let fd: Int32
        switch snapshots.backgroundSaveToPipe() {
        case .failure(let e):
            log.warning("Diskless replication failed to start: \(e)")
            return
        case .success(let f):
            fd = f
        }
        replication.disklessPipe = fd
        replication.disklessMarker = ReplicationWire.eofMarker()
        replication.bgsaveForReplication = true
        for l in replication.replicas where l.state == .waitBgsaveStart {
            l.diskless = true
            setUpFullResync(l, offset: replication.offset)
            l.session.out += ReplicationWire.eofPreamble(replication.disklessMarker)
            l.session.wakeup?()
        }
        loop.add(fd) { [unowned self] _, _, _ in self.relayDisklessPipe(drain: false) }
    }

    /// Relays what the pipe holds to the replicas in the transfer; at EOF the pipe leaves the loop.
    func relayDisklessPipe(drain: Bool) {
        let fd = replication.disklessPipe
        guard fd >= 0 else { return }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                for l in replication.replicas where l.diskless && l.state == .waitBgsaveEnd {
                    l.session.out += chunk[0 ..< n]
                    l.rdbEnd = l.session.out.count
                    l.session.wakeup?()
                }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN && !drain { return }
            if n < 0 && errno == EAGAIN { usleep(1000); continue }
            // EOF (or an error): the child is done writing.
            loop.remove(fd)
            return
        }
    }

    /// The child exited: on success the marker and the buffered stream go out.
    func disklessSyncDone(_ ok: Bool) {
        relayDisklessPipe(drain: true)
        close(replication.disklessPipe)
        replication.disklessPipe = -1
        replication.bgsaveForReplication = false
        for l in replication.replicas where l.diskless && l.state == .waitBgsaveEnd {
            l.diskless = false
            guard ok else {
                log.warning("Diskless rdb transfer failed, closing the connection with replica \(l.ip):\(l.listeningPort)")
                if let c = bySession[l.session.id] { closeConnection(c) }
                continue
            }
            let s = l.session
            s.out += replication.disklessMarker
            l.rdbEnd = s.out.count
            l.state = .sendBulk
            l.awaitingFirstAck = !l.oldProtocol
            l.ackTime = engine.now
            log.notice("Synchronization with replica \(l.ip):\(l.listeningPort) succeeded")
            s.wakeup?()
        }
        if replication.replicas.contains(where: { $0.state == .waitBgsaveStart }) && !disklessEligible { startBgsaveForReplication() }
    }
}
