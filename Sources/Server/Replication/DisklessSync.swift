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
    func startDisklessSync(filter: RDBFilter) {
        let fd: Int32
        switch snapshots.backgroundSaveToPipe(excludeData: filter.excludeData, excludeFunctions: filter.excludeFunctions) {
        case .failure(let e):
            log.warning("Diskless replication failed to start: \(e)")
            return
        case .success(let f):
            fd = f
        }
        replication.disklessPipe = fd
        replication.disklessMarker = ReplicationWire.eofMarker()
        replication.bgsaveForReplication = true
        for l in replication.replicas where l.state == .waitBgsaveStart && l.filter == filter {
            l.diskless = true
            setUpFullResync(l, offset: replication.offset)
            l.session.out += ReplicationWire.eofPreamble(replication.disklessMarker)
            l.session.wakeup?()
        }
        replication.disklessPaused = false
        replication.disklessAtEOF = false
        loop.add(fd) { [unowned self] _, _, _ in self.relayDisklessPipe(drain: false) }
    }

    /// Unsent bytes a replica in the transfer may hold before the pipe is read again: the child waits
    /// on a full pipe instead of the dataset piling up in this process.
    static let disklessOutputHigh = 4 << 20

    /// Relays what the pipe holds to the replicas in the transfer; at EOF the pipe leaves the loop and
    /// the child is reaped at once (not at the next cron tick), so the end mark goes out without delay.
    func relayDisklessPipe(drain: Bool) {
        let fd = replication.disklessPipe
        guard fd >= 0 else { return }
        let chunk = readBuffer
        while true {
            if !drain && disklessReplicasBacklogged() {
                // Wait for the sockets: writeTo resumes the relay when they have drained.
                if !replication.disklessPaused { replication.disklessPaused = true; loop.remove(fd) }
                return
            }
            let n = read(fd, chunk.baseAddress, chunk.count)
            if n > 0 {
                let bytes = UnsafeRawBufferPointer(rebasing: chunk[0 ..< n])
                for l in replication.replicas where l.diskless && l.state == .waitBgsaveEnd {
                    l.session.out.append(contentsOf: bytes)
                    l.rdbEnd = l.session.out.count
                    guard let c = bySession[l.session.id] else { continue }
                    writeTo(c)
                    // A socket that did not take everything: the replica's clock for repl-timeout starts.
                    if c.closed { continue }
                    if c.sent < l.session.out.count {
                        if l.lastPartialWrite == 0 { l.lastPartialWrite = engine.now }
                    } else {
                        l.lastPartialWrite = 0
                    }
                }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN && !drain { return }
            if n < 0 && errno == EAGAIN { usleep(1000); continue }
            // EOF (or an error): the child is done writing.
            if !replication.disklessPaused { loop.remove(fd) }
            replication.disklessPaused = true
            replication.disklessAtEOF = true
            if !drain {
                let up = replication.replicas.filter { $0.diskless && $0.state == .waitBgsaveEnd }.count
                log.warning("Diskless rdb transfer, done reading from pipe, \(up) replicas still up.")
                // The child exits right after closing the pipe: reap it now rather than at the next cron.
                for _ in 0 ..< 200 where replication.disklessPipe == fd {
                    if snapshots.checkChild() { break }
                    usleep(500)
                }
            }
            return
        }
    }

    /// True when a replica in the transfer has more than disklessOutputHigh bytes unsent.
    func disklessReplicasBacklogged() -> Bool {
        for l in replication.replicas where l.diskless && l.state == .waitBgsaveEnd {
            guard let c = bySession[l.session.id] else { continue }
            if l.session.out.count - c.sent > CairnServer.disklessOutputHigh { return true }
        }
        return false
    }

    /// A replica in the transfer left: with none left the child is killed; otherwise the relay goes on.
    func disklessReplicaLeft() {
        guard replication.disklessPipe >= 0 else { return }
        if !replication.replicas.contains(where: { $0.diskless && $0.state == .waitBgsaveEnd }) {
            log.warning("Diskless rdb transfer, last replica dropped, killing fork child.")
            snapshots.killChild()
            return
        }
        if replication.disklessPaused { resumeDisklessRelay() }
    }

    /// A replica's socket drained: a relay paused for it goes on.
    func resumeDisklessRelay() {
        let fd = replication.disklessPipe
        guard fd >= 0, replication.disklessPaused, !replication.disklessAtEOF, !disklessReplicasBacklogged() else { return }
        replication.disklessPaused = false
        loop.add(fd) { [unowned self] _, _, _ in self.relayDisklessPipe(drain: false) }
        relayDisklessPipe(drain: false)
    }

    /// The child exited: on success the marker and the buffered stream go out.
    func disklessSyncDone(_ ok: Bool) {
        relayDisklessPipe(drain: true)
        close(replication.disklessPipe)
        replication.disklessPipe = -1
        replication.disklessPaused = false
        replication.disklessAtEOF = false
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
            l.ackTime = engine.now
            if l.rdbOnly {
                rdbOnlyReplicaDone(l)
                continue
            }
            l.awaitingFirstAck = !l.oldProtocol
            log.notice("Synchronization with replica \(l.ip):\(l.listeningPort) succeeded")
            s.wakeup?()
        }
        startBgsaveForWaitingReplicas()
    }

    /// An RDB-only replica (redis-cli --rdb) has been handed its RDB: it goes once that is sent.
    func rdbOnlyReplicaDone(_ l: ReplicaLink) {
        log.notice("RDB transfer completed, rdb only replica (\(l.ip):\(l.listeningPort)) should be disconnected asap")
        l.session.closeAfterReply = true
        l.session.wakeup?()
    }
}
