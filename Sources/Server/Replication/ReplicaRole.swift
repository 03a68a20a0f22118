// ReplicaRole: this node replicating a primary (REPLICAOF host port). The link runs in the event loop
// without blocking it: a non-blocking connect, then the handshake one reply at a time (PING, AUTH
// when masterauth is set, REPLCONF listening-port, REPLCONF capa eof capa psync2, PSYNC with the
// replication ID and offset this node has), then either `+CONTINUE` (the stream goes on) or
// `+FULLRESYNC` and the RDB (`$<length>` or the diskless `$EOF:<40 bytes>` framing) to a temporary
// file that is loaded in place of the dataset. From then on the link is a client whose commands are
// applied without replies (REPLCONF GETACK is answered with an ACK), counted into this node's offset
// and relayed verbatim to its own backlog and replicas. With tls-replication yes the link is a TLS
// client session (MasterTLS.swift): the handshake runs after the TCP connect, still without blocking,
// and every phase reads and writes through it; the stream's Connection then owns the SSL object.
#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import CSystem
import Engine
import Persistence
import StorageFormat

final class MasterLink {
    enum State: String {
        case connect, connecting
        case receivePong, receiveAuth, receivePort, receiveCapa, receivePsync
        case transfer, connected
    }

    let host: String
    let port: Int
    var state = State.connect
    var fd: Int32 = -1
    /// The TLS session (tls-replication yes) until the stream's Connection takes it over.
    var ssl: OpaquePointer? = nil
    /// Handshake reply bytes not yet consumed.
    var input: [UInt8] = []
    /// The RDB transfer: bytes expected ($<len>; -1: EOF-marked), received, the EOF marker, temp file.
    var bulkLength = -2
    var received = 0
    var eofMarker: [UInt8] = []
    var tail: [UInt8] = []
    var tempFD: Int32 = -1
    var tempPath = ""
    /// The transferred RDB is being loaded (the link's timeout waits).
    var loading = false
    /// Bytes of the temporary file already handed to writeback (sync_file_range every 8 MB).
    var syncedUpTo = 0
    var transferStart: Int64 = 0
    /// The stream connection once connected.
    var conn: Connection? = nil
    /// A REPLCONF GETACK arrived: answer after the command.
    var ackRequested = false
    var lastIO: Int64 = 0
    var downSince: Int64 = 0
    var lastAck: Int64 = 0
    /// The full sync's replication ID and offset (+FULLRESYNC), applied once the RDB is loaded.
    var pendingID = ""
    var pendingOffset = 0
    /// Handshake replies to skip (REPLCONF ip-address).
    var extraReplies = 0
    /// The database the primary's stream had selected when the link dropped (+CONTINUE goes on there).
    var cachedDB = 0
    /// A transaction of the stream under way: its bytes count (and are relayed) only once EXEC ran.
    var multiBytes: [UInt8] = []

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

extension CairnServer {
    func registerReplicaRole() {
        engine.register([
            CommandSpec("replicaof", arity: 3, flags: [.admin, .noScript, .stale]) { [unowned self] ctx in self.replicaofCommand(ctx) },
            CommandSpec("slaveof", arity: 3, flags: [.admin, .noScript, .stale]) { [unowned self] ctx in self.replicaofCommand(ctx) },
        ])
        engine.roleGate = nil
        updateRoleGate()
        for name in ["replica-read-only", "replica-serve-stale-data", "min-replicas-to-write", "min-replicas-max-lag"] {
            let previous = config.onChange[name]
            config.onChange[name] = { [unowned self] c in
                if let e = previous?(c) { return e }
                self.updateRoleGate()
                return nil
            }
        }
        let previous = config.onChange["repl-backlog-size"]
        config.onChange["repl-backlog-size"] = { [unowned self] c in
            if let e = previous?(c) { return e }
            self.replication.backlog?.size = c.int("repl-backlog-size")
            self.trimBacklog()
            return nil
        }
    }

    /// The replicaof line of the configuration file, at start.
    func startReplicationFromConfig() {
        if case .replica(let r)? = config.value("replicaof"), let r {
            setMaster(host: String(decoding: r.host, as: UTF8.self), port: r.port)
        }
    }

    func replicaofCommand(_ ctx: CommandContext) {
        let host = String(decoding: ctx.args[1], as: UTF8.self)
        let portText = String(decoding: ctx.args[2], as: UTF8.self)
        if host.lowercased() == "no" && portText.lowercased() == "one" {
            if masterLink != nil {
                becomePrimary()
                log.notice("MASTER MODE enabled (user request from 'id=\(ctx.session.id) addr=\(ctx.session.address)')")
            }
            ctx.ok()
            return
        }
        if ctx.session.isReplica {
            ctx.error("ERR Command is not valid when client is a replica.")
            return
        }
        guard let port = Int(portText), port >= 0, port <= 65535 else {
            ctx.error("ERR Invalid master port")
            return
        }
        if let m = masterLink, m.host == host, m.port == port {
            log.notice("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.")
            ctx.simple("OK Already connected to specified master")
            return
        }
        setMaster(host: host, port: port)
        log.notice("REPLICAOF \(host):\(port) enabled (user request from 'id=\(ctx.session.id) addr=\(ctx.session.address)')")
        ctx.ok()
    }

    func setMaster(host: String, port: Int) {
        // master_link_down_since_seconds counts from the loss of a link that was up (-1 when none was).
        let downSince = masterLink.map { $0.state == .connected ? engine.now : $0.downSince } ?? 0
        // A replica moved to another primary keeps the stream's database (Redis keeps its cached master
        // client): a partial resync continues a stream that selected it long ago.
        let streamDB = masterLink.map { $0.conn?.session.db ?? $0.cachedDB }
        dropMasterLink()
        config.setReplicaOf(host: host, port: port)
        masterLink = MasterLink(host: host, port: port)
        masterLink!.downSince = downSince
        masterLink!.cachedDB = streamDB ?? replication.restoredStreamDB
        replication.restoredStreamDB = 0
        installReplicationSinks()
        engine.setReplicaExpiry(true)
        updateOOMScore()
        log.role = "S"
        // Blocked clients (WAIT, BLPOP...) would wait on a dataset that will be replaced: they go, as in Redis.
        for w in waiters {
            engine.unblock(w.session)
            w.session.out += Array("-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n".utf8)
            w.session.wakeup?()
        }
        waiters.removeAll()
        // And the clients blocked on keys (BLPOP, XREAD...): the primary's stream would otherwise serve
        // them on this replica (Redis's disconnectAllBlockedClients).
        for s in engine.sessions.values where s.blocked != nil && !s.isScript {
            engine.unblock(s)
            s.out += Array("-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n".utf8)
            s.wakeup?()
        }
        if replication.backlog == nil { createBacklog() }
        updateRoleGate()
        // Our replicas stay (as Redis 7.0): they are disconnected only when this node's history changes
        // (a +CONTINUE with a new ID, or a full sync's dataset about to load).
        log.notice("Connecting to MASTER \(host):\(port)")
        connectToMaster()
    }

    /// REPLICAOF NO ONE: the link goes, the IDs shift so former peers can continue from us.
    func becomePrimary() {
        dropMasterLink()
        masterLink = nil
        config.setReplicaOf(host: nil, port: 0)
        engine.setReplicaExpiry(false)
        log.role = "M"
        replication.shiftIDs()
        replication.selectedDB = -1
        // The backlog's TTL counts from the promotion, or a promoted node with no replica yet would
        // drop its history (and its former peers' partial resyncs) at the next cron.
        replication.noReplicasSince = engine.now
        if replication.backlog == nil { createBacklog() } else { installReplicationSinks() }
        updateRoleGate()
        updateOOMScore()
        // Sub-replicas reconnect and continue with the new ID (Redis disconnects them for that).
        for l in replication.replicas { if let c = bySession[l.session.id] { closeConnection(c) } }
        log.notice("Setting secondary replication ID to \(replication.replid2), valid up to offset: \(replication.secondOffset). New replication ID is \(replication.replid)")
    }

    /// Binds `fd` to `address` (port 0) before it connects.
    func bindSource(_ fd: Int32, _ address: String, family: Int32) -> Bool {
        var hints = addrinfo()
        hints.ai_family = family
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST
        var res: UnsafeMutablePointer<addrinfo>? = nil
        guard getaddrinfo(address, nil, &hints, &res) == 0, let ai = res else { return false }
        defer { freeaddrinfo(res) }
        return bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0
    }

    func dropMasterLink() {
        guard let m = masterLink else { return }
        if let c = m.conn { m.conn = nil; c.session.isMaster = false; closeConnection(c) }
        if m.fd >= 0 && m.state != .connected { loop.remove(m.fd); close(m.fd) }
        m.fd = -1
        freeMasterTLS(m)
        if m.tempFD >= 0 { close(m.tempFD); unlink(m.tempPath); m.tempFD = -1 }
        m.state = .connect
    }

    /// The refusals replication adds: READONLY and MASTERDOWN on a replica, NOREPLICAS on a primary.
    func updateRoleGate() {
        let readOnly = config.bool("replica-read-only"), serveStale = config.bool("replica-serve-stale-data")
        let minReplicas = config.int("min-replicas-to-write"), maxLag = config.int("min-replicas-max-lag")
        if masterLink != nil {
            engine.roleGate = { [unowned self] s, flags in
                if s.isMaster { return nil }
                if !serveStale, self.masterLink?.state != .connected, !flags.contains(.stale) {
                    // A script allowed to run stale (allow-stale) may still call only stale-safe commands.
                    return s.isScript ? .staleInScript : .masterDown
                }
                if readOnly, flags.contains(.write) { return .readOnly }
                return nil
            }
        } else if minReplicas > 0 && maxLag > 0 {
            engine.roleGate = { [unowned self] _, flags in
                guard flags.contains(.write) else { return nil }
                return self.goodReplicas(maxLag: maxLag) < minReplicas ? .noReplicas : nil
            }
        } else {
            engine.roleGate = nil
        }
    }

    func goodReplicas(maxLag: Int) -> Int {
        replication.replicas.filter { $0.state == .online && !$0.oldProtocol && engine.now - $0.ackTime <= Int64(maxLag) * 1000 }.count
    }

    // MARK: - Connecting and the handshake

    func connectToMaster() {
        guard let m = masterLink, m.state == .connect else { return }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>? = nil
        guard getaddrinfo(m.host, String(m.port), &hints, &res) == 0, let ai = res else {
            log.warning("Unable to connect to MASTER: can't resolve \(m.host)")
            return
        }
        defer { freeaddrinfo(res) }
        let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        // bind-source-addr: the link leaves from that address (the primary sees it as the replica's).
        let source = config.string("bind-source-addr")
        if !source.isEmpty && !bindSource(fd, source, family: ai.pointee.ai_family) {
            log.warning("Unable to connect to MASTER: can't bind the source address \(source): \(String(cString: strerror(errno)))")
            close(fd)
            return
        }
        let rc = connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen)
        if rc != 0 && errno != EINPROGRESS {
            log.warning("Unable to connect to MASTER: \(String(cString: strerror(errno)))")
            close(fd)
            return
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        m.fd = fd
        m.state = .connecting
        m.input = []
        m.lastIO = engine.now
        log.notice("MASTER <-> REPLICA sync started")
        // The link by identity, not `weak m` (a side table would slow every later retain of it).
        loop.add(fd, writable: true) { [unowned self, id = ObjectIdentifier(m)] readable, writable, hangup in
            guard let m = self.masterLink, ObjectIdentifier(m) == id, m.fd == fd else { return }
            self.masterLinkEvent(m, readable: readable, writable: writable, hangup: hangup)
        }
    }

    func masterLinkEvent(_ m: MasterLink, readable: Bool, writable: Bool, hangup: Bool) {
        if m.state == .connecting && m.ssl != nil {
            masterTLSHandshake(m)
            return
        }
        if m.state == .connecting {
            guard writable || hangup else { return }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(m.fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err != 0 {
                log.warning("Error condition on socket for SYNC: \(String(cString: strerror(err)))")
                masterLinkFailed(m)
                return
            }
            if config.bool("tls-replication") {
                // The TLS handshake next, driven by the socket's events like the rest.
                startMasterTLS(m)
                return
            }
            loop.setWritable(m.fd, false)
            log.notice("Non blocking connect for SYNC fired the event.")
            m.state = .receivePong
            sendToMaster(m, ["PING"])
            return
        }
        guard readable || hangup else { return }
        let chunk = readBuffer
        while m.fd >= 0 && m.state != .connected {
            if m.state == .transfer && m.tempFD >= 0 && m.input.isEmpty {
                // The RDB's body: straight from the socket to the temporary file.
                if !receiveBulkDirect(m) { return }
                continue
            }
            let n = masterRead(m, chunk.baseAddress!, chunk.count)
            if n > 0 {
                m.lastIO = engine.now
                stats.netInputBytes += n
                m.input.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0 ..< n]))
                advanceHandshake(m)
                // A short read drained the socket; through TLS only EAGAIN says OpenSSL holds nothing more.
                if n < chunk.count && m.ssl == nil { return }
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                return
            } else {
                log.warning("Master closed the connection during the handshake or the transfer")
                masterLinkFailed(m)
                return
            }
        }
    }

    func sendToMaster(_ m: MasterLink, _ words: [String]) {
        var bytes: [UInt8] = []
        RESPEncoder.arrayHeader(words.count, to: &bytes)
        for w in words { RESPEncoder.bulk(Array(w.utf8), to: &bytes) }
        // Handshake messages are small: the socket buffer takes them whole.
        _ = bytes.withUnsafeBytes { masterWrite(m, $0.baseAddress!, $0.count) }
    }

    /// One line from the handshake input (without CRLF), or nil until it is complete.
    func takeLine(_ m: MasterLink) -> String? {
        guard let nl = m.input.firstIndex(of: 10) else { return nil }
        var line = Array(m.input[0 ..< nl])
        if line.last == 13 { line.removeLast() }
        m.input.removeFirst(nl + 1)
        return String(decoding: line, as: UTF8.self)
    }

    func advanceHandshake(_ m: MasterLink) {
        while m.fd >= 0 {
            if m.state == .transfer { receiveBulk(m); return }
            guard let line = takeLine(m) else { return }
            switch m.state {
            case .receivePong:
                if line.hasPrefix("-") && !line.hasPrefix("-NOAUTH") && !line.hasPrefix("-NOPERM") && !line.hasPrefix("-ERR operation not permitted") {
                    log.warning("Error reply to PING from master: '\(line)'")
                    masterLinkFailed(m)
                    return
                }
                log.notice("Master replied to PING, replication can continue...")
                let auth = config.string("masterauth")
                if !auth.isEmpty {
                    let user = config.string("masteruser")
                    sendToMaster(m, user.isEmpty ? ["AUTH", auth] : ["AUTH", user, auth])
                    m.state = .receiveAuth
                } else {
                    sendPort(m)
                }
            case .receiveAuth:
                if line.hasPrefix("-") {
                    log.warning("Unable to AUTH to MASTER: \(line)")
                    masterLinkFailed(m)
                    return
                }
                sendPort(m)
            case .receivePort:
                // REPLCONF ip-address, when sent, has its own reply.
                if m.extraReplies > 0 { m.extraReplies -= 1; continue }
                if line.hasPrefix("-") { log.notice("(Non critical) Master does not understand REPLCONF listening-port: \(line)") }
                sendToMaster(m, ["REPLCONF", "capa", "eof", "capa", "psync2"])
                m.state = .receiveCapa
            case .receiveCapa:
                if line.hasPrefix("-") { log.notice("(Non critical) Master does not understand REPLCONF capa: \(line)") }
                let id = replication.replid, off = replication.offset + 1
                log.notice("Trying a partial resynchronization (request \(id):\(off)).")
                sendToMaster(m, ["PSYNC", id, String(off)] + (failover.state == .inProgress ? ["FAILOVER"] : []))
                m.state = .receivePsync
            case .receivePsync:
                if line.isEmpty { continue } // newlines keep the link alive while the primary prepares
                psyncReply(m, line)
            default:
                return
            }
        }
    }

    func sendPort(_ m: MasterLink) {
        // The port this replica is reached on: the TLS one when replication speaks TLS (as Redis).
        let announced = config.int("replica-announce-port")
        let tlsPort = config.int("tls-port")
        let port = announced != 0 ? announced : config.bool("tls-replication") && tlsPort != 0 ? tlsPort : config.port
        sendToMaster(m, ["REPLCONF", "listening-port", String(port)])
        let ip = config.string("replica-announce-ip")
        if !ip.isEmpty {
            sendToMaster(m, ["REPLCONF", "ip-address", ip])
            m.extraReplies = 1
        }
        m.state = .receivePort
    }

    func psyncReply(_ m: MasterLink, _ line: String) {
        let words = line.split(separator: " ").map(String.init)
        if words.first == "+FULLRESYNC" || words.first == "+CONTINUE" { failoverHandoverDone() }
        if words.first == "+FULLRESYNC", words.count >= 3 {
            m.pendingID = words[1]
            m.pendingOffset = Int(words[2]) ?? 0
            m.cachedDB = 0
            log.notice("Full resync from master: \(words[1]):\(words[2])")
            m.state = .transfer
            m.bulkLength = -2
            m.received = 0
            m.syncedUpTo = 0
            m.tail = []
            m.transferStart = engine.now
            return
        }
        if words.first == "+CONTINUE" {
            if words.count >= 2 && words[1] != replication.replid {
                replication.replid2 = replication.replid
                replication.secondOffset = replication.offset + 1
                replication.replid = words[1]
                log.notice("Master replication ID changed to \(words[1])")
                for l in replication.replicas { if let c = bySession[l.session.id] { closeConnection(c) } }
            }
            log.notice("Successful partial resynchronization with master.")
            log.notice("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
            becomeConnected(m)
            return
        }
        if line.hasPrefix("-NOMASTERLINK") || line.hasPrefix("-LOADING") {
            log.notice("Master is currently unable to PSYNC but should be in the future: \(line)")
        } else {
            log.warning("Unexpected reply to PSYNC from master: \(line)")
        }
        masterLinkFailed(m)
        if failover.state == .inProgress { abortFailover("Failover target rejected psync request") }
    }

    /// The RDB, written to a temporary file as it arrives.
    func receiveBulk(_ m: MasterLink) {
        if m.bulkLength == -2 {
            while m.input.first == 10 { m.input.removeFirst() }
            guard let line = takeLine(m) else { return }
            guard line.hasPrefix("$") else {
                log.warning("Bad protocol from MASTER, the first byte is not '$' (we received '\(line)'), are you sure the host and port are right?")
                masterLinkFailed(m)
                return
            }
            if let marker = ReplicationWire.eofMarker(inHeader: Array(line.utf8)) {
                m.eofMarker = marker
                m.tail = []
                m.bulkLength = -1
                log.notice("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to \(useDisklessLoad() ? "parser" : "disk")")
            } else {
                m.bulkLength = Int(line.dropFirst()) ?? 0
                log.notice("MASTER <-> REPLICA sync: receiving \(m.bulkLength) bytes from master to \(useDisklessLoad() ? "parser" : "disk")")
            }
            if useDisklessLoad() {
                loadFromSocket(m)
                return
            }
            m.tempPath = config.dir + "/temp-\(engine.now / 1000).\(getpid()).rdb"
            m.tempFD = open(m.tempPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if m.tempFD < 0 {
                log.warning("Opening the temp file needed for MASTER <-> REPLICA synchronization: \(String(cString: strerror(errno)))")
                masterLinkFailed(m)
                return
            }
        }
        let take = m.bulkLength >= 0 ? min(m.input.count, m.bulkLength - m.received) : m.input.count
        if take > 0 {
            let ok = m.input.withUnsafeBytes { p in bulkBytesArrived(m, UnsafeRawBufferPointer(rebasing: p[0 ..< take])) }
            m.input.removeFirst(take)
            if !ok { masterLinkFailed(m); return }
        }
        if bulkComplete(m) { finishBulk(m) }
    }

    /// Reads the RDB's body from the socket into the temporary file, without going through the
    /// handshake input. False when the socket has nothing more for now (or the link failed or the
    /// transfer ended).
    func receiveBulkDirect(_ m: MasterLink) -> Bool {
        let buffer = readBuffer
        var want = buffer.count
        if m.bulkLength >= 0 { want = min(want, m.bulkLength - m.received) }
        let n = want > 0 ? masterRead(m, buffer.baseAddress!, want) : 0
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return false }
        if n <= 0 && want > 0 {
            log.warning("I/O error trying to sync with MASTER: connection lost")
            masterLinkFailed(m)
            return false
        }
        m.lastIO = engine.now
        stats.netInputBytes += n
        if !bulkBytesArrived(m, UnsafeRawBufferPointer(rebasing: buffer[0 ..< n])) { masterLinkFailed(m); return false }
        if bulkComplete(m) { finishBulk(m); return false }
        return n == want || m.ssl != nil
    }

    /// RDB bytes from the primary: into the temporary file, the last 40 remembered for the EOF mark.
    func bulkBytesArrived(_ m: MasterLink, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard DurableFileWrite.all(m.tempFD, bytes) else { return false }
        m.received += bytes.count
        if m.bulkLength < 0 {
            let keep = ReplicationWire.markerLength
            if bytes.count >= keep {
                m.tail = Array(bytes[(bytes.count - keep)...])
            } else {
                m.tail.append(contentsOf: bytes)
                if m.tail.count > keep { m.tail.removeFirst(m.tail.count - keep) }
            }
        }
        // Start writing back what arrived every 8 MB, so the final fsync has little left (as Redis).
        if m.received - m.syncedUpTo >= 8 << 20 {
            _ = cairn_start_writeback(m.tempFD, Int64(m.syncedUpTo), Int64(m.received - m.syncedUpTo))
            m.syncedUpTo = m.received
        }
        return true
    }

    /// A `$<length>` transfer is complete at its length; an `$EOF:` one when its last 40 bytes are the
    /// mark (the primary sends nothing after it until this node's first ACK, as Redis does).
    func bulkComplete(_ m: MasterLink) -> Bool {
        m.bulkLength >= 0 ? m.received == m.bulkLength : m.tail == m.eofMarker
    }

    /// A full sync's dataset is about to replace this node's: its history ends, its replicas must resync.
    func disconnectReplicasForFullSync() {
        for l in replication.replicas { if let c = bySession[l.session.id] { closeConnection(c) } }
    }

    func finishBulk(_ m: MasterLink) {
        disconnectReplicasForFullSync()
        // While the file loads, the loop runs for clients: the link's socket stays out of it.
        loop.remove(m.fd)
        m.loading = true
        if m.bulkLength < 0 { _ = ftruncate(m.tempFD, off_t(m.received - 40)) }
        fsync(m.tempFD)
        close(m.tempFD)
        m.tempFD = -1
        loadTransferredRDB(m)
    }

    func loadTransferredRDB(_ m: MasterLink) {
        log.notice("MASTER <-> REPLICA sync: Flushing old data")
        engine.flushAll()
        log.notice("MASTER <-> REPLICA sync: Loading DB in memory")
        let finalPath = rdbPath()
        if rename(m.tempPath, finalPath) != 0 {
            log.warning("Failed trying to rename the temp DB into \(config.dbfilename) in MASTER <-> REPLICA synchronization: \(String(cString: strerror(errno)))")
            masterLinkFailed(m)
            return
        }
        let sinks = (engine.propagationSink, engine.replicationSink)
        engine.propagationSink = nil
        engine.replicationSink = nil
        engine.isLoading = true
        loadingStart = engine.now / 1000
        do {
            _ = try RDBLoader.load(path: finalPath, into: engine, keepExpired: true, progress: replicaLoadingProgress(m))
        } catch {
            engine.isLoading = false
            engine.propagationSink = sinks.0
            engine.replicationSink = sinks.1
            m.loading = false
            log.warning("Failed trying to load the MASTER synchronization DB from disk: \(error)")
            engine.flushAll()
            masterLinkFailed(m)
            return
        }
        engine.isLoading = false
        engine.propagationSink = sinks.0
        engine.replicationSink = sinks.1
        finishFullSync(m)
    }

    /// The loading progress of a full sync: clients are served (-LOADING) as at start-up, and a newline
    /// goes to the primary every second so it does not time this replica out meanwhile (as Redis).
    func replicaLoadingProgress(_ m: MasterLink) -> (Int) -> Void {
        let inner = loadingProgress()
        var lastNewline = EventLoop.monotonicMS()
        return { [unowned self, id = ObjectIdentifier(m)] bytes in
            inner(bytes)
            guard let m = self.masterLink, ObjectIdentifier(m) == id, m.fd >= 0 else { return }
            let now = EventLoop.monotonicMS()
            if now - lastNewline >= 1000 {
                lastNewline = now
                var nl: UInt8 = 10
                _ = self.masterWrite(m, &nl, 1)
                m.lastIO = self.engine.now
            }
        }
    }

    /// A full sync's dataset is in: the primary's history becomes this node's, and the link goes live.
    func finishFullSync(_ m: MasterLink) {
        m.loading = false
        // The new history: the primary's ID and offset, a fresh backlog, no second ID.
        replication.replid = m.pendingID
        replication.offset = m.pendingOffset
        replication.replid2 = String(repeating: "0", count: 40)
        replication.secondOffset = -1
        replication.backlog = nil
        createBacklog()
        log.notice("MASTER <-> REPLICA sync: Finished with success")
        // As Redis, the AOF starts over from the new dataset.
        if aof.enabled, let e = aof.backgroundRewrite() { log.warning("AOF rewrite after the sync did not start: \(e)") }
        becomeConnected(m)
    }

    /// The handshake is over: the socket becomes the master client.
    func becomeConnected(_ m: MasterLink) {
        loop.remove(m.fd)
        let session = engine.newSession()
        session.isMaster = true
        session.db = m.cachedDB
        m.multiBytes = []
        session.authenticated = true
        session.address = "\(m.host):\(m.port)"
        session.localAddress = ""
        let conn = Connection(fd: m.fd, session: session)
        conn.ssl = m.ssl
        m.ssl = nil
        connections[m.fd] = conn
        bySession[session.id] = conn
        // As for clients: no weak reference to the connection (see accept).
        session.wakeup = { [unowned self, id = session.id] in if let conn = self.bySession[id] { self.schedule(conn) } }
        loop.add(m.fd) { [unowned(unsafe) self] readable, writable, _ in
            if conn.closed { return }
            if readable { self.readFrom(conn) }
            if writable && conn.tlsReadWantsWrite {
                conn.tlsReadWantsWrite = false
                self.readFrom(conn)
            }
            if writable && !conn.closed { self.writeTo(conn) }
        }
        m.conn = conn
        m.state = .connected
        m.lastIO = engine.now
        m.lastAck = 0
        // What arrived after the handshake's last reply is already stream.
        if !m.input.isEmpty {
            conn.query += m.input
            m.input = []
            processInput(conn)
        }
        // Stream bytes OpenSSL already took from the socket raise no event: read them now.
        if !conn.closed && tlsPending(conn) { readFrom(conn) }
        sendAck(m)
    }

    func masterLinkFailed(_ m: MasterLink) {
        m.loading = false
        if m.tempFD >= 0 { close(m.tempFD); unlink(m.tempPath); m.tempFD = -1 }
        if m.fd >= 0 && m.state != .connected { loop.remove(m.fd); close(m.fd) }
        m.fd = -1
        freeMasterTLS(m)
        m.state = .connect
    }

    /// The master client's connection closed.
    func masterConnectionClosed(_ s: Session) {
        guard let m = masterLink, m.conn?.session === s else { return }
        m.conn = nil
        m.fd = -1
        m.state = .connect
        m.downSince = engine.now
        m.cachedDB = s.db
        m.multiBytes = []
        log.notice("Connection with master lost.")
        log.notice("* Caching the disconnected master state.")
    }

    // MARK: - The stream

    /// After each command of the primary's stream: no reply, the bytes relayed and counted.
    /// `replyFrom`: where this command's reply starts in the output (an ACK queued before it stays).
    func afterPrimaryCommand(_ conn: Connection, _ args: [[UInt8]], raw: Range<Int>?, replyFrom start: Int) {
        let s = conn.session
        if start < s.out.count && s.out[start] == UInt8(ascii: "-") {
            // An error the primary never sees: logged, as Redis does (the datasets may have diverged).
            var text = Array(s.out[(start + 1)...])
            if let cr = text.firstIndex(of: 13) { text.removeSubrange(cr...) }
            log.warning("== CRITICAL == This replica is sending an error to its master: '\(String(decoding: text, as: UTF8.self))' after processing the command '\(engine.commandLogName(args))'")
        }
        if start < s.out.count { s.out.removeSubrange(min(start, s.out.count)...) }
        guard let m = masterLink else { return }
        // The bytes read from the primary are relayed as they are (the offset counts what was read);
        // a command that arrived in pieces is encoded again, in the primary's canonical form.
        let verbatim = raw.map { $0.upperBound <= conn.query.count } ?? false
        if verbatim, let raw, !m.ackRequested, s.multi == nil, m.multiBytes.isEmpty, replication.backlog != nil {
            // The common case: the request joins the span relayed at the end of the batch (as Redis
            // relays what a read applied), or starts a new one.
            if conn.relayEnd != raw.lowerBound || conn.relayStart == conn.relayEnd {
                flushRelay(conn)
                conn.relayStart = raw.lowerBound
            }
            conn.relayEnd = raw.upperBound
            return
        }
        flushRelay(conn)
        let ackWanted = m.ackRequested
        m.ackRequested = false
        if ackWanted { sendAck(m) }
        if replication.backlog == nil { createBacklog() }
        // Inside MULTI the offset stays before it: a link lost mid-transaction resumes from MULTI.
        if s.multi != nil || !m.multiBytes.isEmpty {
            if verbatim, let raw { m.multiBytes += conn.query[raw] } else { AOFCommands.append(args, to: &m.multiBytes) }
            if s.multi != nil { return }
            feedStream(m.multiBytes)
            m.multiBytes = []
        } else if verbatim, let raw {
            conn.query.withUnsafeBytes { feedStream(UnsafeRawBufferPointer(rebasing: $0[raw])) }
        } else {
            streamCommand(args)
        }
    }

    /// Relays the span of applied requests `afterPrimaryCommand` gathered from the primary link's query
    /// buffer (before the buffer moves, and before anything reads the offset).
    @inline(__always)
    func flushRelay(_ conn: Connection) {
        guard conn.relayEnd > conn.relayStart else { return }
        let span = conn.relayStart ..< min(conn.relayEnd, conn.query.count)
        conn.relayStart = 0
        conn.relayEnd = 0
        conn.query.withUnsafeMutableBytes { feedStream(UnsafeRawBufferPointer(rebasing: $0[span])) }
    }

    func sendAck(_ m: MasterLink) {
        guard let c = m.conn, !c.closed else { return }
        let s = c.session
        var words = ["REPLCONF", "ACK", String(replication.offset)]
        if aof.enabled && aof.allFsynced { words += ["FACK", String(replication.offset)] }
        RESPEncoder.arrayHeader(words.count, to: &s.out)
        for w in words { RESPEncoder.bulk(Array(w.utf8), to: &s.out) }
        m.lastAck = engine.now
        schedule(c)
    }

    /// Once a second: connect if down, ACK, time out a silent primary.
    func masterLinkCron() {
        guard let m = masterLink else { return }
        let timeout = Int64(config.int("repl-timeout")) * 1000
        switch m.state {
        case .connect:
            connectToMaster()
        case .connected:
            sendAck(m)
            if engine.now - m.lastIO > timeout, let c = m.conn {
                log.warning("MASTER timeout: no data nor PING received...")
                closeConnection(c)
            }
        default:
            if !m.loading && engine.now - m.lastIO > timeout {
                log.warning("Timeout connecting to the MASTER...")
                masterLinkFailed(m)
            }
        }
    }
}

/// Writes a whole buffer to a descriptor, retrying short writes and EINTR.
enum DurableFileWrite {
    static func all(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            return false
        }
        return true
    }
}
