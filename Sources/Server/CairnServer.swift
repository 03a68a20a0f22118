// CairnServer: the process. Binds the listeners, runs the event loop, turns socket bytes into
// commands for the Engine and the Engine's replies back into socket bytes, and runs the periodic
// tasks (expiry, blocked-client timeouts, rehashing, client timeouts) at `hz`.
#if canImport(Glibc)
import Glibc
#endif
import CSystem
import Engine
import Persistence
import StorageFormat

public final class CairnServer {
    public let config: ServerConfig
    public let engine: Engine
    public let loop = EventLoop()
    public let log = Log()
    var listeners: [Int32] = []
    /// The TCP listeners among `listeners`, and the addresses and port they are bound to.
    var tcpListeners: [Int32] = []
    var watchdogArmed = false
    var boundTo: (bind: [String], port: Int) = ([], 0)
    var connections: [Int32: Connection] = [:]
    var bySession: [Int: Connection] = [:]
    var pendingWrites: [Connection] = []
    /// TLS connections whose reading stopped with bytes left inside OpenSSL (Net/TLS.swift).
    var tlsPendingReads: [Connection] = []
    var signalFD: Int32 = -1
    public internal(set) var startTime = EventLoop.monotonicMS()
    public internal(set) var startUnix: Int64 = 0
    var cronTimer = 0
    let oomScore = OOMScoreAdjuster()
    /// MIGRATE's cached connections (Net/Migrate.swift).
    let migrateSockets = MigrateSocketCache()
    /// TLS context and tls-port listeners (Net/TLS.swift).
    let tls = TLSState()
    /// Replication: IDs, offset, backlog and replicas (Replication/), the link to our primary when this
    /// node is a replica, and clients blocked in WAIT/WAITAOF.
    let replicationState = ReplicationState()
    var masterLink: MasterLink? = nil
    var waiters: [ReplicationWaiter] = []
    var failover = FailoverPlan()
    /// DEBUG PAUSE-CRON 1: the periodic tasks stop until DEBUG PAUSE-CRON 0.
    var cronPaused = false
    /// A SIGTERM/SIGINT arrived: the cron runs the shutdown sequence (SHUTDOWN ABORT cancels it).
    var shutdownASAP = false
    /// The signal that set shutdownASAP (SIGINT or SIGTERM), for shutdown-on-sigint/-sigterm.
    var lastTerminationSignal: Int32 = 0
    /// A shutdown waiting for replicas to catch up, and the SHUTDOWN clients blocked meanwhile.
    var pendingShutdown: PendingShutdown? = nil
    var shutdownWaiters: [Session] = []
    public var stats = ServerStats()
    /// Set by SHUTDOWN or a signal: the loop stops and `run()` returns this exit code.
    var exitCode: Int32? = nil
    /// The pid file written at start (removed at shutdown), if any.
    var pidFilePath: String? = nil
    public static let version = "7.0.15"
    /// A random 40-hex-digit id for this run (INFO run_id).
    public let runID: String = (0 ..< 40).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
    /// Unix seconds of the last successful save (0 = never; the RDB issue sets it).
    public var lastSaveTime = 0
    var peakMemory = 0
    var startupMemory = 0
    /// Memory of the clients by kind (ClientKind), kept as they change (ClientMemory.swift).
    var clientMemory = [0, 0, 0]
    /// Evictable clients by memory size (ClientMemory.swift), while maxmemory-clients is set.
    var evictionBuckets = [[Connection]](repeating: [], count: CairnServer.evictionBucketCount)
    /// maxmemory-clients in bytes (0: off), and whether an eviction pass is due (the limit changed).
    var clientEvictionLimit = 0
    var clientEvictionDue = false
    /// The cron's round of the clients: their descriptors, taken when the last round ended.
    var cronRing: [Int32] = []
    var cronRingIndex = 0

    /// Hot settings cached from the config table (refreshed by onChange hooks).
    var protoMaxBulkLen: Int
    var clientQueryBufferLimit: Int
    var outputLimits: (normal: ClientBufferLimit, replica: ClientBufferLimit, pubsub: ClientBufferLimit)

    public let snapshots: Snapshots
    public let aof: AppendOnlyFile
    var loadingStart: Int64 = 0
    var loadingBytes = 0
    /// Set during an async load (DisklessLoad.swift): runs the loading pass's client work against the old dataset.
    var servingDuringLoad: ((() -> Void) -> Void)? = nil

    /// The allocator's settings for a server process (cairn_tune_allocator says why); called first thing.
    public static func tuneAllocator() { cairn_tune_allocator() }

    public init(config: ServerConfig) {
        self.config = config
        protoMaxBulkLen = config.protoMaxBulkLen
        clientQueryBufferLimit = config.clientQueryBufferLimit
        outputLimits = config.clientOutputBufferLimit
        let engine = Engine(databases: config.databases, config: config.engineConfig)
        self.engine = engine
        var settingsRef: (() -> PersistenceSettings)? = nil
        snapshots = Snapshots(engine: engine, settings: { settingsRef!() })
        var aofSettingsRef: (() -> AOFSettings)? = nil
        aof = AppendOnlyFile(engine: engine, settings: { aofSettingsRef!() })
        engine.eviction.measure = { [unowned self] in
            max(0, self.usedMemory() - self.memoryNotCountedForEviction)
        }
        EngineMemory.expansionAllowed = { [unowned self] bytes in
            guard self.engine.eviction.maxmemory > 0 else { return true }
            return self.engine.eviction.measureIsCheap
                ? (self.engine.eviction.measure?() ?? 0) + bytes <= self.engine.eviction.maxmemory : true
        }
        engine.eviction.measureIsCheap = cairn_malloc_counting() != 0
        config.apply(to: engine)
        log.level = LogLevel(name: config.loglevel) ?? .notice
        log.file = config.logfile
        registerServerCommands()
        registerPrimaryRole()
        registerReplicaRole()
        registerWaitCommands()
        registerRoleCommand()
        registerFailover()
        setUpAccessControl()
        settingsRef = { [unowned self] in self.persistenceSettings() }
        aofSettingsRef = { [unowned self] in self.aofSettings() }
        setUpPersistence()
        for r in config.renamedCommands { engine.renameCommand(from: r.from, to: r.to) }
        config.onResetStat = { [unowned self] in
            self.engine.resetStats()
            self.stats = ServerStats()
            // sync_full, sync_partial_ok, sync_partial_err start over too, as Redis's resetServerStats.
            self.replication.syncFull = 0
            self.replication.syncPartialOK = 0
            self.replication.syncPartialErr = 0
        }
        config.onChange["watchdog-period"] = { [unowned self] _ in
            self.scheduleWatchdog()
            return nil
        }
        config.onChange["proc-title-template"] = { [unowned self] _ in
            self.updateProcessTitle()
            return nil
        }
        config.onChange["loglevel"] = { [unowned self] c in
            self.log.level = LogLevel(name: c.loglevel) ?? .notice
            return nil
        }
        config.onChange["logfile"] = { [unowned self] c in
            self.log.file = c.logfile
            return nil
        }
        config.onChange["proto-max-bulk-len"] = { [unowned self] c in
            self.protoMaxBulkLen = c.protoMaxBulkLen
            return nil
        }
        config.onChange["client-query-buffer-limit"] = { [unowned self] c in
            self.clientQueryBufferLimit = c.clientQueryBufferLimit
            return nil
        }
        engine.outputHardLimit = Int(outputLimits.normal.hard)
        config.onChange["client-output-buffer-limit"] = { [unowned self] c in
            self.outputLimits = c.clientOutputBufferLimit
            self.engine.outputHardLimit = Int(self.outputLimits.normal.hard)
            return nil
        }
        let applyDelays: (ServerConfig) -> String? = { c in
            DebugDelays.keySave = Int32(truncatingIfNeeded: c.int("rdb-key-save-delay"))
            DebugDelays.keyLoad = Int32(truncatingIfNeeded: c.int("key-load-delay"))
            return nil
        }
        _ = applyDelays(config)
        for name in ["rdb-key-save-delay", "key-load-delay"] {
            config.onChange[name] = applyDelays
        }
        let applyOOM: (ServerConfig) -> String? = { [unowned self] _ in self.updateOOMScore() }
        config.onChange["oom-score-adj"] = applyOOM
        config.onChange["oom-score-adj-values"] = applyOOM
        if let e = updateOOMScore() { log.warning(e) }
        config.onChange["use-exit-on-panic"] = { [unowned self] c in
            if c.bool("crash-log-enabled") {
                cairn_install_crash_report(self.log.fd, "Cairn \(CairnServer.version)", c.bool("use-exit-on-panic") ? 1 : 0)
            }
            return nil
        }
        config.onChange["port"] = { [unowned self] _ in self.rebindListeners(portChanged: true) }
        config.onChange["bind"] = { [unowned self] _ in self.rebindListeners(portChanged: false) }
        clientEvictionLimit = computeClientEvictionLimit()
        for name in ["maxmemory-clients", "maxmemory"] {
            let previous = config.onChange[name]
            config.onChange[name] = { [unowned self] c in
                if let e = previous?(c) { return e }
                self.applyClientEvictionLimit()
                return nil
            }
        }
        engine.hooks.clientEvictionChanged = { [unowned self] s in
            guard let c = self.bySession[s.id] else { return }
            self.updateClientMemory(c)
            if self.clientsOverLimit { self.clientEvictionDue = true }
        }
        engine.hooks.scriptLog = { [unowned self] level, line in
            self.log.log(LogLevel(rawValue: level) ?? .notice, line)
        }
        engine.hooks.whileScriptBusy = { [unowned self] in self.serveWhileScriptBusy() }
        config.onChange["hz"] = { [unowned self] c in
            self.loop.setInterval(self.cronTimer, Int64(1000 / max(1, min(500, c.hz))))
            return nil
        }
    }

    /// Binds, logs start-up, and serves until shutdown. Returns the process exit code.
    public func run() -> Int32 {
        if config.daemonize { daemonize() }
        signal(SIGPIPE, SIG_IGN)
        // A file-size limit makes write() fail with EFBIG (reported like a full disk) instead of killing us.
        signal(SIGXFSZ, SIG_IGN)
        adjustOpenFilesLimit()
        engine.updateClock()
        startUnix = engine.now / 1000
        if config.bool("crash-log-enabled") {
            cairn_install_crash_report(log.fd, "Cairn \(CairnServer.version)", config.bool("use-exit-on-panic") ? 1 : 0)
        }
        log.notice("oO0OoO0OoO0Oo Cairn is starting oO0OoO0OoO0Oo")
        log.notice("Cairn version=\(CairnServer.version), bits=64, pid=\(getpid()), just started")
        if let f = config.configFile { log.notice("Configuration loaded from \(f)") } else {
            log.warning("Warning: no config file specified, using the default config.")
        }
        do {
            try openListeners()
        } catch {
            log.warning("\(error)")
            return 1
        }
        setUpSignals()
        if config.daemonize || config.pidfile != nil { createPidFile() }
        updateProcessTitle()
        showBanner()
        log.notice("Server initialized")
        if !loadUsersAtStart() { return 1 }
        loop.beforeSleep = { [unowned(unsafe) self] in self.beforeSleep() }
        if !loadDataAtStart() { return 1 }
        log.notice("Ready to accept connections")
        startReplicationFromConfig()
        cronTimer = loop.every(Int64(1000 / max(1, min(500, config.hz)))) { [unowned self] in self.cron() }
        loop.beforeSleep = { [unowned(unsafe) self] in self.beforeSleep() }
        loop.run()
        return exitCode ?? 0
    }

    /// Raises the open-files limit to fit maxclients plus the server's own descriptors, as Redis does.
    func adjustOpenFilesLimit() {
        let want = rlim_t(config.maxclients + 32)
        var lim = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim) == 0, lim.rlim_cur < want else { return }
        var newLimit = lim
        newLimit.rlim_cur = min(want, lim.rlim_max)
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &newLimit) == 0 && newLimit.rlim_cur < want {
            log.warning("You requested maxclients of \(config.maxclients) requiring at least \(want) max file descriptors; the limit is \(newLimit.rlim_cur).")
        }
    }

    // MARK: - Listening and accepting

    /// CONFIG SET port / bind: listens on the new addresses before letting go of the old ones, so a
    /// failure leaves the server listening where it was (Redis's error texts).
    func rebindListeners(portChanged: Bool) -> String? {
        let want = (config.bind, config.port)
        if want.0 == boundTo.0 && want.1 == boundTo.1 { return nil }
        let fresh: [Int32]
        do {
            fresh = try openTCPListeners(bind: want.0, port: want.1)
        } catch {
            log.warning("\(error)")
            return portChanged ? "Unable to listen on this port. Check server logs." : "Failed to bind to specified addresses."
        }
        // A new bind moves the TLS listeners too (Net/TLS.swift).
        if !portChanged && tls.boundPort != 0, let error = rebindTLS(force: true) {
            for fd in fresh { close(fd) }
            return error
        }
        for fd in tcpListeners {
            loop.remove(fd)
            close(fd)
            listeners.removeAll { $0 == fd }
        }
        for fd in fresh {
            listeners.append(fd)
            loop.add(fd) { [unowned self] _, _, _ in self.accept(fd) }
        }
        tcpListeners = fresh
        boundTo = want
        return nil
    }

    /// Opens the TCP listeners for `bind` and `port` (none for port 0); closes what it opened on failure.
    func openTCPListeners(bind: [String], port: Int) throws -> [Int32] {
        var opened: [Int32] = []
        for var addr in port == 0 ? [] : bind {
            let optional = addr.hasPrefix("-")
            if optional { addr.removeFirst() }
            do {
                opened.append(try Listener.open(address: addr, port: port))
            } catch {
                if optional { continue }
                for fd in opened { close(fd) }
                throw error
            }
        }
        return opened
    }

    /// Start-up's listeners. A port that cannot be bound logs why, then Redis's "Failed listening on
    /// port N (TCP), aborting." (Redis's test harness reads that line to retry with another port).
    func openListeners() throws {
        let tcp: [Int32]
        do { tcp = try openTCPListeners(bind: config.bind, port: config.port) } catch {
            log.warning("\(error)")
            throw ListenError(description: "Failed listening on port \(config.port) (TCP), aborting.")
        }
        for fd in tcp {
            listeners.append(fd)
            loop.add(fd) { [unowned self] _, _, _ in self.accept(fd) }
        }
        tcpListeners = tcp
        boundTo = (config.bind, config.port)
        if listeners.isEmpty && config.port != 0 {
            throw ListenError(description: "Failed listening on port \(config.port) (TCP), aborting.")
        }
        try openTLSListeners()
        if let path = config.unixSocket {
            let fd = try Listener.openUnix(path: path, permissions: config.unixSocketPerm)
            listeners.append(fd)
            loop.add(fd) { [unowned self] _, _, _ in self.accept(fd) }
        }
        if listeners.isEmpty { throw ListenError(description: "Configured to not listen anywhere, exiting.") }
    }

    func accept(_ lfd: Int32) {
        while true {
            var storage = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { cairn_accept(lfd, $0, &len) }
            }
            if fd < 0 { return }
            let (ip, port) = Listener.describe(storage)
            stats.totalConnections += 1
            if connections.count >= config.maxclients {
                writeAndClose(fd, "-ERR max number of clients reached\r\n")
                stats.rejectedConnections += 1
                continue
            }
            if config.protectedMode && engine.acl.defaultUser.hasNoPass && Int32(storage.ss_family) != AF_UNIX && !isLoopback(ip) {
                writeAndClose(fd, "-" + CairnServer.protectedModeMessage + "\r\n")
                stats.rejectedConnections += 1
                continue
            }
            let session = engine.newSession()
            if Int32(storage.ss_family) == AF_UNIX {
                // Redis names a Unix-socket client by the socket's path, with port 0.
                session.address = (config.unixSocket ?? "") + ":0"
                session.isUnixSocket = true
            } else {
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                session.address = ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
            }
            var local = sockaddr_storage()
            var llen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &llen) } }
            let (lip, lport) = Listener.describe(local)
            session.localAddress = session.isUnixSocket ? session.address
                : lip.contains(":") ? "[\(lip)]:\(lport)" : "\(lip):\(lport)"
            let conn = Connection(fd: fd, session: session)
            guard attachTLS(conn, listener: lfd) else {
                close(fd)
                engine.endSession(session)
                continue
            }
            connections[fd] = conn
            bySession[session.id] = conn
            // No weak reference to the connection: one would give it a side table, and every retain of it
            // on the request path the slow path. The loop's handler holds it until closeConnection removes
            // the handler (a read that closes it leaves `closed` set for the writable half of the event);
            // the session finds it by id.
            session.wakeup = { [unowned self, id = session.id] in if let conn = self.bySession[id] { self.schedule(conn) } }
            loop.add(fd) { [unowned(unsafe) self] readable, writable, hangup in
                if conn.closed { return }
                if readable { self.readFrom(conn) }
                if writable && conn.tlsReadWantsWrite {
                    conn.tlsReadWantsWrite = false
                    self.readFrom(conn)
                }
                if writable && !conn.closed {
                    // Replies never go out before the writes they acknowledge are in the AOF.
                    self.aof.flush()
                    self.writeTo(conn)
                }
            }
        }
    }

    /// watchdog-period: re-armed by every cron run, so it fires only when the main thread is stuck
    /// longer than the period (at least two cron intervals, as Redis).
    func scheduleWatchdog() {
        let period = config.int("watchdog-period")
        if period > 0 {
            cairn_watchdog_schedule(Int32(clamping: max(period, 2000 / max(config.hz, 1))))
            watchdogArmed = true
        } else if watchdogArmed {
            cairn_watchdog_schedule(0)
            watchdogArmed = false
        }
    }

    /// Sets what ps shows for this process from proc-title-template (when set-proc-title is on).
    func updateProcessTitle() {
        guard config.bool("set-proc-title") else { return }
        let listenPort = config.port
        let values: [String: String] = [
            "title": String(cString: cairn_original_argv0()),
            "listen-addr": "\(config.bind.first.map { $0.hasPrefix("-") ? String($0.dropFirst()) : $0 } ?? "*"):\(listenPort)",
            "server-mode": "",
            "port": "\(listenPort)",
            "tls-port": "\(config.int("tls-port"))",
            "unixsocket": config.unixSocket ?? "",
            "config-file": config.configFile ?? "",
        ]
        guard let title = expandProcTitleTemplate(Array(config.string("proc-title-template").utf8), values) else { return }
        String(decoding: title, as: UTF8.self).withCString { cairn_set_proc_title($0) }
    }

    func isLoopback(_ ip: String) -> Bool {
        ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }

    static let protectedModeMessage = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside."

    func writeAndClose(_ fd: Int32, _ text: String) {
        var b = Array(text.utf8)
        _ = b.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    // MARK: - Reading and running commands

    /// One reusable buffer for socket reads; bytes are appended to the client's query buffer.
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    /// Reads what the socket has, a buffer's worth at a time, running the commands of each piece
    /// before reading the next (so a big argument's length is known before its bytes are read).
    func readFrom(_ conn: Connection) {
        // A client whose script is running is not read until the script ends (Redis's protectClient).
        if engine.runningScript && engine.currentScript?.caller === conn.session {
            if conn.ssl != nil && tlsPending(conn) { noteTLSPending(conn) }
            return
        }
        while !conn.closed {
            var want = readBuffer.count
            let bulk = conn.partial.bulkLength
            if bulk >= CairnServer.bigArgumentBytes {
                // A big argument: read no further than its end, so its buffer holds it exactly.
                let remaining = bulk + 2 - conn.queryLength
                if remaining <= 0 {
                    processInput(conn)
                    if conn.ssl != nil && tlsPending(conn) { noteTLSPending(conn) }
                    return
                }
                want = min(want, remaining)
            } else if conn.query.capacity < CairnServer.queryReadBytes {
                conn.query.reserveCapacity(CairnServer.queryReadBytes)
            }
            // The primary's stream: one read of at most 16 KB per event, as Redis reads its master link
            // (applying a long stream in one go holds a core the other processes are waiting for).
            let fromPrimary = conn.session.isMaster
            if fromPrimary { want = min(want, CairnServer.queryReadBytes) }
            let n = connectionRead(conn, readBuffer.baseAddress!, want)
            if n > 0 {
                conn.query.append(contentsOf: UnsafeRawBufferPointer(rebasing: readBuffer[0 ..< n]))
                if conn.query.count > conn.queryPeak { conn.queryPeak = conn.query.count }
                stats.netInputBytes += n
                engine.updateClock()
                conn.session.lastInteraction = engine.now
                if conn.queryLength > clientQueryBufferLimit && !conn.session.isMaster {
                    log.warning("Closing client that reached max query buffer length: id=\(conn.session.id) addr=\(conn.session.address) qbuf=\(conn.queryLength)")
                    closeConnection(conn)
                    return
                }
                processInput(conn, clockUpdated: true)
                if (n < want || fromPrimary) && !tlsPending(conn) { return }
            } else {
                if n == 0 { closeConnection(conn); return }
                if errno == EAGAIN || errno == EINTR { return }
                closeConnection(conn)
                return
            }
        }
    }

    /// Parses and runs every complete command in the query buffer (stopping while the client is
    /// blocked). Arguments are taken out of the buffer as they complete, as Redis reads them, so a
    /// request arriving in pieces is parsed once and the buffer holds only what is not parsed yet.
    /// `clockUpdated`: the caller has just refreshed the engine's clock (after a read), so it is not
    /// read again (two clock reads per request at -P 1).
    func processInput(_ conn: Connection, clockUpdated: Bool = false) {
        let s = conn.session
        var limits = RESPLimits()
        limits.maxBulkLength = protoMaxBulkLen
        if !clockUpdated { engine.updateClock() }
        // The primary's stream runs with no key considered expired (its DELs expire them).
        let fromPrimary = s.isMaster
        if fromPrimary { engine.holdExpiryForPrimaryStream(true) }
        defer {
            if fromPrimary {
                flushRelay(conn)
                engine.holdExpiryForPrimaryStream(false)
            }
        }
        // Where the last look ahead over pipelined requests ended (see prefetchAhead).
        var lookedAhead = 0
        input: while s.blocked == nil && !s.postponed && !s.closeAfterReply && !conn.closed {
            if !s.authenticated && !engine.acl.defaultAutoAuth {
                limits.maxMultibulkCount = 10
                limits.maxBulkLength = 16384
            } else {
                limits.maxMultibulkCount = Int(Int32.max)
                limits.maxBulkLength = protoMaxBulkLen
            }
            takeBigArgument(conn)
            var args: [[UInt8]]
            var raw: Range<Int>? = nil
            if let held = conn.heldCommand {
                args = held
                conn.heldCommand = nil
            } else if conn.partial.isComplete {
                args = conn.partial.take()
            } else {
                if conn.queryLength == 0 { break }
                let fresh = conn.partial.remaining == 0
                let start = conn.queryStart
                if fresh && start >= lookedAhead {
                    lookedAhead = engine.prefetchPays(db: s.db) ? prefetchAhead(conn, from: start, db: s.db) : Int.max
                }
                // A mutating access borrows the buffer in place (a read would retain it per command).
                let result = conn.query.withUnsafeMutableBytes { bytes in
                    RESPRequestParser.parse(UnsafeRawBufferPointer(rebasing: bytes[start...]), partial: &conn.partial, limits: limits)
                }
                switch result {
                case .incomplete(let n):
                    conn.queryStart += n
                    break input
                case .skip(let n):
                    conn.queryStart += n
                    continue input
                case .command(let a, let n):
                    args = a
                    if fresh { raw = start ..< start + n }
                    conn.queryStart += n
                case .protocolError(var message):
                    if !s.authenticated && !engine.acl.defaultAutoAuth {
                        if message == "Protocol error: invalid multibulk length" { message = "Protocol error: unauthenticated multibulk length" }
                        if message == "Protocol error: invalid bulk length" { message = "Protocol error: unauthenticated bulk length" }
                    }
                    log.verbose("Protocol error (\(message)) from client: id=\(s.id) addr=\(s.address)")
                    RESPEncoder.error("ERR " + message, to: &s.out)
                    s.closeAfterReply = true
                    conn.queryStart = conn.query.count
                    conn.partial = .init()
                    break input
                }
            }
            // Clients over maxmemory-clients go before a command runs (Redis's processCommand).
            if clientsOverLimit {
                evictClients()
                if conn.closed { return }
            }
            // CLIENT LIST's qbuf: the bytes held while the command runs, itself included, as Redis.
            s.queryBufferBytes = conn.query.count
            s.queryBufferFree = conn.query.capacity - conn.query.count
            var argBytes = 0
            for a in args { argBytes &+= a.count }
            s.argvBytes = argBytes
            s.argvCount = args.count
            let offsetBefore = replicationState.offset
            if s.isMaster {
                let before = s.out.count
                engine.execute(s, args)
                // Held by CLIENT PAUSE: not applied yet, so not relayed nor counted in the offset.
                if !s.postponed { afterPrimaryCommand(conn, args, raw: raw, replyFrom: before) }
            } else {
                let before = s.out.count
                // (Replica before the command: the PSYNC or SYNC that makes it one has its reply.)
                let replica = s.isReplica
                if let raw, engine.takesRawRequests {
                    // The AOF and the replication stream may take a verbatim write from the request's own bytes.
                    conn.runningFromQuery = true
                    conn.query.withUnsafeBytes { bytes in
                        engine.rawRequest = UnsafeRawBufferPointer(rebasing: bytes[raw])
                        engine.execute(s, args)
                        engine.rawRequest = nil
                    }
                    conn.runningFromQuery = false
                } else {
                    engine.execute(s, args)
                }
                // An attached replica's commands get no reply; REPLCONF ACK may release the stream held
                // for it, which is not a reply.
                if replica && s.out.count > before && !isReplconf(args[0]) { replicaGeneratedReply(conn, args, from: before); return }
            }
            if replicationState.offset != offsetBefore { s.replicationWriteOffset = replicationState.offset }
            s.argvBytes = 0
            s.argvCount = 0
            if s.postponed {
                // CLIENT PAUSE blocked the client after its checks: the command waits on the connection
                // and runs again from the start once the pause ends (runResumedClients).
                conn.heldCommand = args
                break input
            }
            // The output limit goes first: a client it closes is not counted (nor evicted) for memory.
            if conn.closed || checkOutputLimit(conn) { return }
        }
        if conn.closed { return }
        if fromPrimary { flushRelay(conn) }
        compactQuery(conn)
        s.argvBytes = conn.partial.argumentBytes
        s.argvCount = conn.partial.args.count
        let bulk = conn.partial.bulkLength
        if bulk >= CairnServer.bigArgumentBytes && conn.query.capacity < bulk + 2 {
            // A big argument under way: a buffer of exactly its size (Redis's non-greedy growth).
            conn.query.reserveCapacity(bulk + 2)
        }
        syncQueryFigures(conn)
        // schedule notes the reply buffer's peak and counts the client's memory: once per batch of
        // input, as Redis does after its processInputBuffer (a pipeline's replies only grow meanwhile).
        schedule(conn)
    }

    /// Looks ahead over the next pipelined requests (up to 16) from query offset `start` and, when there
    /// are at least two, prefetches the keyspace lines their keys' lookups will read, so the batch's cache
    /// misses overlap (a pipeline on random keys, a replica applying its primary's stream). Returns where
    /// the walked requests end, at least `start + 1`, so each request is looked at once.
    @inline(__always)
    func prefetchAhead(_ conn: Connection, from start: Int, db: Int) -> Int {
        withUnsafeTemporaryAllocation(of: UnsafeRawBufferPointer.self, capacity: 16) { keys in
            // A mutating access borrows the buffer in place (a read would retain it).
            conn.query.withUnsafeMutableBytes { bytes in
                var n = 0
                let walked = RESPRequestParser.scanKeys(UnsafeRawBufferPointer(rebasing: bytes[start...]), limit: 16) { key in
                    keys[n] = key
                    n += 1
                }
                if n >= 2 { engine.prefetchKeys(UnsafeBufferPointer(rebasing: keys[..<n]), db: db) }
                return start + max(walked, 1)
            }
        }
    }

    /// A big argument that fills the query buffer exactly becomes the argument itself, without a copy,
    /// and the buffer starts over at that size (Redis expects another such argument).
    @inline(__always)
    func takeBigArgument(_ conn: Connection) {
        let bulk = conn.partial.bulkLength
        guard bulk >= CairnServer.bigArgumentBytes, conn.queryStart == 0, conn.query.count == bulk + 2 else { return }
        flushRelay(conn)
        var arg = conn.query
        conn.query = []
        arg.removeLast(2)
        conn.partial.append(arg)
        conn.query.reserveCapacity(bulk + 2)
    }

    func compactQuery(_ conn: Connection) {
        defer { syncQueryFigures(conn) }
        if conn.queryStart == 0 { return }
        if conn.queryStart >= conn.query.count {
            conn.query.removeAll(keepingCapacity: true)
        } else {
            conn.query.removeFirst(conn.queryStart)
        }
        conn.queryStart = 0
    }

    // MARK: - Writing replies

    /// Queues `conn` to have its output written before the loop sleeps.
    func schedule(_ conn: Connection) {
        if conn.closed { return }
        if checkOutputLimit(conn) { return }
        conn.session.noteReplyBufferUse()
        updateClientMemory(conn)
        if conn.pending { return }
        if conn.session.out.count > conn.sent || conn.session.closeAfterReply {
            conn.pending = true
            pendingWrites.append(conn)
        }
    }

    /// Redis's client-output-buffer-limit: a client whose pending output passes the hard limit, or
    /// stays over the soft limit for the soft seconds, is closed. Returns true if it was.
    func checkOutputLimit(_ conn: Connection) -> Bool {
        if conn.session.isMaster { return false }
        let replicaBytes = conn.session.isReplica ? replicaPendingBytes(conn) : nil
        let pendingBytes = replicaBytes ?? Int64(conn.session.out.count - conn.sent)
        var limit = replicaBytes != nil ? outputLimits.replica : conn.session.subscriptionCount > 0 ? outputLimits.pubsub : outputLimits.normal
        if replicaBytes != nil, let size = replication.backlog?.size {
            // A replica's limits are at least repl-backlog-size (as Redis): a partial resync the backlog
            // allows must not then disconnect it, and the bytes it waits for are the backlog's anyway.
            if limit.hard > 0 && limit.hard < Int64(size) { limit.hard = Int64(size) }
            if limit.soft > 0 && limit.soft < Int64(size) { limit.soft = Int64(size) }
        }
        if limit.hard == 0 && limit.soft == 0 { return false }
        var over = limit.hard > 0 && pendingBytes >= limit.hard
        if !over && limit.soft > 0 && pendingBytes >= limit.soft {
            if conn.softLimitSince == 0 { conn.softLimitSince = engine.now }
            over = engine.now - conn.softLimitSince >= limit.softSeconds * 1000
        } else if pendingBytes < limit.soft {
            conn.softLimitSince = 0
        }
        if over {
            log.warning("Client id=\(conn.session.id) addr=\(conn.session.address) scheduled to be closed ASAP for overcoming of output buffer limits.")
            closeConnection(conn)
        }
        return over
    }

    /// Runs again, in the order they blocked, the commands of clients a CLIENT PAUSE released.
    func runResumedClients() {
        while true {
            let resumed = engine.takeResumedSessions()
            if resumed.isEmpty { return }
            for s in resumed {
                guard let c = bySession[s.id], !c.closed else { continue }
                processInput(c)
            }
        }
    }

    func beforeSleep() {
        runResumedClients()
        let tlsAgain = readTLSPending()
        engine.trackingBroadcast()
        // An eviction pass that ran out of time goes on between events, not only at the next cron tick.
        if engine.eviction.inProgress { engine.performEvictions() }
        loop.busy = engine.eviction.inProgress || tlsAgain
        // The AOF first: under `always` its fsync happens before any of these replies is sent.
        aof.flush()
        requestAcks()
        if !waiters.isEmpty { checkWaitingClients() }
        if failover.state == .waitingForSync { updateFailoverStatus() }
        // Clients unblocked by another client's command may have commands waiting.
        let batch = pendingWrites
        pendingWrites.removeAll(keepingCapacity: true)
        // Replies first, then the replicas' stream (as Redis's pending-write list comes out): the clients
        // waiting on this pass get their replies before a replica is woken to compete for a core. A replica
        // that CLIENT KILL closes goes in order, before the replies (Redis frees it inside the command).
        var replicasLast = false
        for c in batch {
            if c.session.isReplica && !c.session.closeAfterReply { replicasLast = true; continue }
            c.pending = false
            if c.closed { continue }
            writeTo(c)
        }
        if replicasLast {
            for c in batch where c.session.isReplica && c.pending {
                c.pending = false
                if c.closed { continue }
                writeTo(c)
            }
        }
        if clientsOverLimit || clientEvictionDue { evictClients() }
    }

    func writeTo(_ conn: Connection) {
        let s = conn.session
        while true {
            while conn.sent < s.out.count {
                let n = s.out.withUnsafeBytes { connectionWrite(conn, $0.baseAddress! + conn.sent, s.out.count - conn.sent) }
                if n > 0 {
                    conn.sent += n
                    s.outputSent = conn.sent
                    stats.netOutputBytes += n
                } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                    if !conn.wantsWrite { conn.wantsWrite = true; loop.setWritable(conn.fd, true) }
                    return
                } else {
                    closeConnection(conn)
                    return
                }
            }
            // A replica's snapshot file follows its header once the reply buffer has drained.
            guard let transfer = conn.rdbTransfer else {
                // And then the stream, from the shared replication buffer.
                guard s.isReplica else { break }
                var wouldBlock = false, failed = false
                if sendReplicaStream(conn, wouldBlock: &wouldBlock, failed: &failed) { continue }
                if failed { closeConnection(conn); return }
                if wouldBlock {
                    s.resetOutput()
                    conn.sent = 0
                    if !conn.wantsWrite { conn.wantsWrite = true; loop.setWritable(conn.fd, true) }
                    return
                }
                break
            }
            s.resetOutput()
            conn.sent = 0
            switch continueRDBFileTransfer(conn, transfer) {
            case .wouldBlock:
                if !conn.wantsWrite { conn.wantsWrite = true; loop.setWritable(conn.fd, true) }
                return
            case .failed:
                closeConnection(conn)
                return
            case .done, .queued:
                continue
            }
        }
        s.resetOutput()
        conn.sent = 0
        updateClientMemory(conn)
        if conn.wantsWrite { conn.wantsWrite = false; loop.setWritable(conn.fd, false) }
        if replicationState.disklessPaused && s.isReplica { resumeDisklessRelay() }
        if s.closeAfterReply {
            closeConnection(conn)
            return
        }
        // A client that was blocked and is now free may have pipelined commands left.
        if s.blocked == nil && !s.postponed && (conn.queryLength > 0 || conn.partial.isComplete || conn.heldCommand != nil) { processInput(conn) }
    }

    func closeConnection(_ conn: Connection) {
        if conn.closed { return }
        conn.closed = true
        conn.rdbTransfer = nil
        loop.remove(conn.fd)
        freeTLS(conn)
        close(conn.fd)
        connections[conn.fd] = nil
        bySession[conn.session.id] = nil
        detachReplica(conn.session)
        masterConnectionClosed(conn.session)
        engine.endSession(conn.session)
        conn.session.wakeup = nil
        forgetClientMemory(conn)
    }

    // MARK: - Periodic work

    func cron() {
        engine.updateClock()
        scheduleWatchdog()
        if cronPaused { return }
        shutdownCron()
        if exitCode != nil { return }
        snapshots.cron()
        aof.cron()
        replicationCron()
        checkWaitingClients()
        updateFailoverStatus()
        if engine.eviction.maxmemory > 0 {
            engine.eviction.remeasure()
            engine.performEvictions()
        }
        engine.activeExpireCycle()
        engine.expireBlockedClients()
        if engine.tracking.clients > 0 { engine.trackingLimitKeys() }
        if migrateSockets.count > 0 { migrateSockets.closeIdle(now: engine.now) }
        engine.rehashStep()
        if config.timeout > 0 {
            let limit = engine.now - Int64(config.timeout) * 1000
            for c in connections.values where c.session.lastInteraction < limit && c.session.blocked == nil
                && !c.session.postponed && !c.session.isReplica && !c.session.isMaster
                && c.session.subscriptionCount == 0 {
                log.verbose("Closing idle client")
                closeConnection(c)
            }
        }
        // Output limits also apply to a client that is not being written to (Redis's clientsCron): one
        // that stays over its soft limit with no new replies is closed once the soft seconds pass.
        for c in connections.values.filter({ $0.session.out.count > $0.sent || $0.session.isReplica }) where !c.closed { _ = checkOutputLimit(c) }
        clientsCron()
        // A CLIENT PAUSE whose time has passed ends here at the latest; its clients run on.
        engine.checkPauseTimeout()
        runResumedClients()
        for s in engine.sessions.values where s.closeAfterReply {
            if let c = bySession[s.id] { schedule(c) }
        }
    }

    // MARK: - Signals and shutdown

    func setUpSignals() {
        signalFD = cairn_termination_signalfd()
        guard signalFD >= 0 else { return }
        loop.add(signalFD) { [unowned self] _, _, _ in
            while true {
                let signo = cairn_read_signal(self.signalFD)
                if signo < 0 { break }
                self.handleTerminationSignal(signo)
            }
        }
    }

    /// Redis's rule: a signal schedules the shutdown for the cron; a second SIGINT while one is
    /// pending (or while the shutdown's save runs) exits at once, removing the save's temporary file.
    func handleTerminationSignal(_ signo: Int32) {
        if shutdownASAP && signo == SIGINT {
            log.warning("You insist on shutting down the server. Exiting now.")
            unlink(config.dir + "/temp-\(getpid()).rdb")
            exit(1)
        }
        if engine.isLoading {
            log.warning("Received shutdown signal during loading, scheduling shutdown.")
        } else {
            log.warning("Received \(signo == SIGINT ? "SIGINT" : "SIGTERM") scheduling shutdown...")
        }
        shutdownASAP = true
        lastTerminationSignal = signo
    }

    /// Reads signals that arrived while the event loop was not running (a long SAVE at shutdown).
    func pollTerminationSignals() {
        guard signalFD >= 0 else { return }
        while true {
            let signo = cairn_read_signal(signalFD)
            if signo < 0 { break }
            handleTerminationSignal(signo)
        }
    }

    /// `daemonize yes`, as Redis does it: fork, the parent returns to the shell at once, the child starts a
    /// new session with standard input and output on /dev/null. Runs before any thread exists.
    func daemonize() {
        let pid = fork()
        if pid < 0 { return }
        if pid > 0 { _exit(0) }
        _ = setsid()
        let fd = open("/dev/null", O_RDWR, 0)
        if fd >= 0 {
            dup2(fd, STDIN_FILENO)
            dup2(fd, STDOUT_FILENO)
            dup2(fd, STDERR_FILENO)
            if fd > STDERR_FILENO { close(fd) }
        }
    }

    /// Writes our pid to `pidfile` (Redis's default path when daemonized without one). Failing to write
    /// it is logged and not fatal, as in Redis.
    func createPidFile() {
        let path = config.pidfile ?? "/var/run/redis_\(config.port).pid"
        let text = Array("\(getpid())\n".utf8)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0, text.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == text.count else {
            log.warning("Failed to write PID file: \(String(cString: strerror(errno)))")
            if fd >= 0 { close(fd) }
            return
        }
        close(fd)
        pidFilePath = path
    }

    /// Stops serving: flushes what can be flushed, closes clients and listeners.
    public func shutdown(code: Int32) {
        // Listeners first: once a client sees its connection close, new connections are refused.
        for l in listeners { loop.remove(l); close(l) }
        listeners.removeAll()
        if let path = config.unixSocket {
            log.notice("Removing the unix socket file.")
            unlink(Listener.unixSocketPath(path))
        }
        for c in Array(connections.values) { closeConnection(c) }
        if let p = pidFilePath {
            log.notice("Removing the pid file.")
            unlink(p)
        }
        log.warning("Cairn is now ready to exit, bye bye...")
        exitCode = code
        loop.stop()
    }

    /// One pass of the event loop while a script runs past busy-reply-threshold (Redis's
    /// processEventsWhileBlocked): other clients are answered (-BUSY, or the allow-busy commands such
    /// as SCRIPT KILL run), replies are written. The script's own client is not read meanwhile. A
    /// SHUTDOWN NOSAVE served here ends the process at once, as Redis's does.
    func serveWhileScriptBusy() {
        loop.runOnce(timeoutMS: 0)
        if let code = exitCode { exit(code) }
    }

    /// Closes the connection of a session (CLIENT KILL): after its pending output.
    func kill(sessionID: Int) -> Bool {
        guard let c = bySession[sessionID] else { return false }
        c.session.closeAfterReply = true
        schedule(c)
        return true
    }

    /// Connected clients (for INFO and CLIENT LIST).
    var clientCount: Int { connections.count }
}

public struct ServerStats {
    public var readsProcessed = 0
    public var writesProcessed = 0
    public var totalConnections = 0
    public var rejectedConnections = 0
    public var netInputBytes = 0
    public var netOutputBytes = 0
    /// Clients disconnected by maxmemory-clients (INFO evicted_clients).
    public var evictedClients = 0
}
