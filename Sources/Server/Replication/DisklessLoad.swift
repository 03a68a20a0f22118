// DisklessLoad: a replica loading its primary's RDB straight from the socket, with no temporary file
// (repl-diskless-load swapdb; on-empty-db while this node holds no keys; disabled: always the file).
// The loader reads the socket through MasterSocketSource, the same decoder and loader as start-up.
// With swapdb the current keys and function libraries are set aside first and the load fills an empty
// keyspace: on success the old data is dropped, on failure (a short read, a broken end mark, a corrupt
// RDB) it comes back as it was. Without swapdb the dataset is flushed before loading, as Redis does.
// Clients are answered -LOADING meanwhile, except in Redis 7.0's async loading: with swapdb and a primary
// whose replication ID is this replica's own (the new data is a later point of the same history), the
// old keys and libraries stay readable while the new ones load. The loader fills the keyspace; each time
// it lets clients in, the old contents are swapped back in for them (Database.swapContents, O(1)) and
// out again after, with INFO's async_loading:1 and the no-async-loading commands refused. Over TLS
// (tls-replication) the source reads through the link's SSL session.
#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import Engine
import Persistence
import StorageFormat

/// The primary's socket as the loader's byte source: first the bytes already read past the bulk
/// header, then the socket, never more than a `$<length>` transfer's length. While no data comes the
/// event loop runs (clients get -LOADING); silence longer than repl-timeout fails the read.
final class MasterSocketSource: ByteSource {
    let fd: Int32
    /// The link's TLS session, when replication speaks TLS.
    let ssl: OpaquePointer?
    var prefix: [UInt8]
    var prefixUsed = 0
    /// Bytes still to deliver of a `$<length>` transfer (nil: an `$EOF:` one, ended by the decoder).
    var remaining: Int?
    let timeoutMS: Int64
    /// Runs between reads and while the socket has nothing (the event loop, the newline to the primary).
    let idle: () -> Void
    /// True once the link was dropped (REPLICAOF elsewhere, SHUTDOWN): the read fails.
    let cancelled: () -> Bool
    var knownSize: Int? { nil }

    init(fd: Int32, ssl: OpaquePointer? = nil, prefix: [UInt8], remaining: Int?, timeoutMS: Int64, idle: @escaping () -> Void, cancelled: @escaping () -> Bool) {
        self.fd = fd
        self.ssl = ssl
        self.prefix = prefix
        self.remaining = remaining
        self.timeoutMS = timeoutMS
        self.idle = idle
        self.cancelled = cancelled
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var want = buffer.count
        if let r = remaining { want = min(want, r) }
        if want == 0 { return 0 }
        if prefixUsed < prefix.count {
            let n = min(want, prefix.count - prefixUsed)
            prefix.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + prefixUsed, byteCount: n) }
            prefixUsed += n
            remaining = remaining.map { $0 - n }
            return n
        }
        // Clients are served between reads as well, however steadily the bytes come (idle rate-limits itself).
        idle()
        var silentSince = EventLoop.monotonicMS()
        while true {
            if cancelled() { throw IOError(path: "MASTER", reason: "the link with the master was dropped") }
            var events = Int16(POLLIN)
            let n: Int
            if let ssl {
                ERR_clear_error()
                let r = SSL_read(ssl, buffer.baseAddress, Int32(clamping: want))
                if r > 0 {
                    n = Int(r)
                } else {
                    switch SSL_get_error(ssl, r) {
                    case SSL_ERROR_WANT_READ: n = -1; errno = EAGAIN
                    case SSL_ERROR_WANT_WRITE: n = -1; errno = EAGAIN; events = Int16(POLLOUT)
                    case SSL_ERROR_ZERO_RETURN: n = 0
                    default:
                        let reason = ERR_peek_error() != 0 ? TLSState.lastError() : "connection lost"
                        throw IOError(path: "MASTER", reason: "TLS read failed: \(reason)")
                    }
                }
            } else {
                n = Glibc.read(fd, buffer.baseAddress, want)
            }
            if n > 0 {
                remaining = remaining.map { $0 - n }
                return n
            }
            if n == 0 { throw IOError(path: "MASTER", reason: "Unexpected EOF reading RDB file") }
            if errno == EINTR { continue }
            guard errno == EAGAIN else { throw IOError(path: "MASTER", errno: errno) }
            var p = pollfd(fd: fd, events: events, revents: 0)
            if poll(&p, 1, 50) > 0 { silentSince = EventLoop.monotonicMS(); continue }
            idle()
            if EventLoop.monotonicMS() - silentSince > timeoutMS {
                throw IOError(path: "MASTER", reason: "timeout reading from the master")
            }
        }
    }

    /// Reads exactly `count` more bytes (the end mark after the RDB).
    func readExactly(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = try out.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[got...])) }
            if n == 0 { throw IOError(path: "MASTER", reason: "Unexpected EOF reading the end mark") }
            got += n
        }
        return out
    }
}

extension CairnServer {
    /// repl-diskless-load: swapdb always loads from the socket; on-empty-db only while no key exists.
    func useDisklessLoad() -> Bool {
        switch config.enumName("repl-diskless-load") {
        case "swapdb": return true
        case "on-empty-db": return engine.databases.allSatisfy { $0.count == 0 }
        default: return false
        }
    }

    /// Loads the RDB whose bulk header was just read from the socket, then the link goes live.
    func loadFromSocket(_ m: MasterLink) {
        let swapdb = config.enumName("repl-diskless-load") == "swapdb"
        disconnectReplicasForFullSync()
        loop.remove(m.fd)
        m.loading = true
        // What was read past the header is the RDB's start (and, past a $<length>, already stream).
        var prefix = m.input
        var after: [UInt8] = []
        m.input = []
        if m.bulkLength >= 0 && prefix.count > m.bulkLength {
            after = Array(prefix[m.bulkLength...])
            prefix.removeLast(prefix.count - m.bulkLength)
        }
        let progress = replicaLoadingProgress(m)
        let fd = m.fd
        let source = MasterSocketSource(
            fd: fd, ssl: m.ssl, prefix: prefix, remaining: m.bulkLength >= 0 ? m.bulkLength : nil,
            timeoutMS: Int64(config.int("repl-timeout")) * 1000,
            idle: { [unowned self] in progress(self.loadingBytes) },
            cancelled: { [unowned self, id = ObjectIdentifier(m)] in
                guard let m = self.masterLink else { return true }
                return ObjectIdentifier(m) != id || m.fd != fd
            })
        var stash: [Database]? = nil
        var stashedLibraries: [[UInt8]] = []
        // Async loading: the old libraries stay as they are, set aside whole, and callable meanwhile.
        var oldLibraries: FunctionLibraries? = nil
        let asyncLoading = swapdb && replication.replid == m.pendingID
        if swapdb {
            log.notice("MASTER <-> REPLICA sync: Stashing the current dataset (repl-diskless-load swapdb)")
            stash = engine.stashDatabases()
            if asyncLoading {
                oldLibraries = engine.swapFunctionLibraries(engine.newFunctionLibraries())
                let old = stash!, libraries = oldLibraries!
                engine.isAsyncLoading = true
                servingDuringLoad = { [unowned self] serve in
                    // The old contents and libraries in place for the clients, the loaded ones aside.
                    for (db, holder) in zip(self.engine.databases, old) { db.swapContents(with: holder) }
                    let loaded = self.engine.swapFunctionLibraries(libraries)
                    self.engine.isLoading = false
                    serve()
                    self.engine.isLoading = true
                    _ = self.engine.swapFunctionLibraries(loaded)
                    for (db, holder) in zip(self.engine.databases, old) { db.swapContents(with: holder) }
                }
            } else {
                stashedLibraries = engine.functionLibraryCodes
                engine.flushFunctionLibraries()
            }
        } else {
            log.notice("MASTER <-> REPLICA sync: Flushing old data")
            engine.flushAll()
        }
        log.notice("MASTER <-> REPLICA sync: Loading DB in memory")
        let sinks = (engine.propagationSink, engine.replicationSink)
        engine.propagationSink = nil
        engine.replicationSink = nil
        engine.isLoading = true
        loadingStart = engine.now / 1000
        var failure: String? = nil
        do {
            var unread: [UInt8] = []
            _ = try RDBLoader.load(source: source, into: engine, keepExpired: true, progress: progress,
                                   decoder: { unread = $0.unreadBytes })
            if m.bulkLength < 0 {
                // The end mark follows the RDB; nothing comes after it until this replica's first ACK.
                if unread.count < ReplicationWire.markerLength {
                    unread += try source.readExactly(ReplicationWire.markerLength - unread.count)
                }
                if Array(unread.prefix(ReplicationWire.markerLength)) != m.eofMarker {
                    failure = "Replication stream EOF marker is broken"
                } else {
                    after = Array(unread.dropFirst(ReplicationWire.markerLength))
                }
            } else {
                after = unread + after
            }
        } catch {
            failure = "Internal error in RDB reading offset \(loadingBytes) -> \(error). Failure loading rdb format from socket, assuming connection error, resuming operation."
        }
        engine.isLoading = false
        engine.isAsyncLoading = false
        servingDuringLoad = nil
        engine.propagationSink = sinks.0
        engine.replicationSink = sinks.1
        if let failure {
            log.warning(failure)
            log.warning("Failed trying to load the MASTER synchronization DB from socket, check server logs.")
            if let stash {
                log.notice("MASTER <-> REPLICA sync: Discarding the half-loaded data and restoring the previous dataset")
                engine.restoreDatabases(stash)
                if let oldLibraries {
                    engine.swapFunctionLibraries(oldLibraries).flush()
                } else {
                    engine.flushFunctionLibraries()
                    for code in stashedLibraries { _ = try? engine.functions.load(code: code, replace: true) }
                }
            } else {
                engine.flushAll()
            }
            masterLinkFailed(m)
            return
        }
        if let stash {
            log.notice("MASTER <-> REPLICA sync: Discarding the previous dataset")
            for db in stash { db.removeAll() }
            oldLibraries?.flush()
        }
        m.input = after
        finishFullSync(m)
    }
}
