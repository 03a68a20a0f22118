// INFO: Redis's sections and field names, so tools that parse Redis's INFO work unchanged.
// Default sections: server clients memory persistence stats replication cpu modules errorstats
// cluster keyspace; "all" adds commandstats and latencystats; "everything" is all of them.
#if canImport(Glibc)
import Glibc
#endif
import CSystem
import Engine

extension CairnServer {
    static let defaultSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
                                  "errorstats", "cluster", "keyspace"]
    static let allSections = defaultSections + ["commandstats", "latencystats"]

    /// The INFO text for the requested section names (empty = default).
    public func infoText(_ requested: [String]) -> String {
        var wanted: [String] = []
        let names = requested.map { $0.lowercased() }
        if names.isEmpty || names.contains("default") { wanted += CairnServer.defaultSections }
        if names.contains("all") || names.contains("everything") { wanted += CairnServer.allSections }
        for n in names where CairnServer.allSections.contains(n) { wanted.append(n) }
        var seen = Set<String>()
        var out = ""
        for s in CairnServer.allSections where wanted.contains(s) && seen.insert(s).inserted {
            if !out.isEmpty { out += "\r\n" }
            out += section(s)
        }
        return out
    }

    func section(_ name: String) -> String {
        var lines: [String] = []
        func f(_ k: String, _ v: Any) { lines.append("\(k):\(v)") }
        let nowMS = engine.now
        switch name {
        case "server":
            lines.append("# Server")
            f("redis_version", CairnServer.version)
            f("redis_git_sha1", "00000000")
            f("redis_git_dirty", 0)
            f("redis_build_id", "cairn")
            f("redis_mode", "standalone")
            f("os", osName())
            f("arch_bits", 64)
            f("monotonic_clock", "POSIX clock_gettime")
            f("multiplexing_api", "epoll")
            f("atomicvar_api", "c11-builtin")
            f("gcc_version", "0.0.0")
            f("process_id", getpid())
            f("process_supervised", "no")
            f("run_id", runID)
            f("tcp_port", config.port)
            f("server_time_usec", nowMS * 1000)
            f("uptime_in_seconds", (EventLoop.monotonicMS() - startTime) / 1000)
            f("uptime_in_days", (EventLoop.monotonicMS() - startTime) / 86_400_000)
            f("hz", config.hz)
            f("configured_hz", config.hz)
            f("lru_clock", Int((nowMS / 1000) & ((1 << 24) - 1)))
            f("executable", CommandLine.arguments.first ?? "")
            f("config_file", config.configFile ?? "")
            f("io_threads_active", 0)
            if let p = pendingShutdown { f("shutdown_in_milliseconds", max(0, p.deadline - engine.now)) }
        case "clients":
            lines.append("# Clients")
            f("connected_clients", clientCount - replication.replicas.count) // replicas are not counted
            f("cluster_connections", 0)
            f("maxclients", config.maxclients)
            f("client_recent_max_input_buffer", 0)
            f("client_recent_max_output_buffer", 0)
            f("blocked_clients", engine.blockedCount)
            f("tracking_clients", engine.tracking.clients)
            f("clients_in_timeout_table", engine.blockedCount - engine.postponedCount)
        case "memory":
            let used = usedMemory()
            let rss = residentMemory()
            lines.append("# Memory")
            f("used_memory", used)
            f("used_memory_human", human(used))
            f("used_memory_rss", rss)
            f("used_memory_rss_human", human(rss))
            f("used_memory_peak", max(used, peakMemory))
            f("used_memory_peak_human", human(max(used, peakMemory)))
            f("used_memory_peak_perc", String(format2(100.0 * Double(used) / Double(max(1, max(used, peakMemory))))) + "%")
            f("used_memory_overhead", 0)
            f("used_memory_startup", startupMemory)
            f("used_memory_dataset", max(0, used - startupMemory))
            f("used_memory_dataset_perc", "100.00%")
            f("allocator_allocated", used)
            f("allocator_active", used)
            f("allocator_resident", rss)
            f("total_system_memory", totalSystemMemory())
            f("total_system_memory_human", human(totalSystemMemory()))
            // A fresh interpreter's size until EVAL first creates it.
            let lua = engine.scriptingCreated ? engine.scripting.luaMemory : 31744
            let scriptsMemory = engine.scriptingCreated ? engine.scripting.scriptsMemory : 0
            let cached = engine.scriptingCreated ? engine.scripting.cachedScriptCount : 0
            let fn = engine.functions.stats
            f("used_memory_lua", lua)
            f("used_memory_vm_eval", lua)
            f("used_memory_lua_human", human(lua))
            f("used_memory_scripts_eval", scriptsMemory)
            f("number_of_cached_scripts", cached)
            f("number_of_functions", fn.functions)
            f("number_of_libraries", fn.libraries)
            f("used_memory_vm_functions", fn.vmMemory)
            f("used_memory_vm_total", lua + fn.vmMemory)
            f("used_memory_vm_total_human", human(lua + fn.vmMemory))
            f("used_memory_functions", fn.memory)
            f("used_memory_scripts", scriptsMemory + fn.memory)
            f("used_memory_scripts_human", human(scriptsMemory + fn.memory))
            f("maxmemory", engine.eviction.maxmemory)
            f("maxmemory_human", human(engine.eviction.maxmemory))
            f("maxmemory_policy", engine.eviction.policy.rawValue)
            f("allocator_frag_ratio", "1.00")
            f("allocator_frag_bytes", 0)
            f("allocator_rss_ratio", "1.00")
            f("allocator_rss_bytes", 0)
            f("rss_overhead_ratio", "1.00")
            f("rss_overhead_bytes", 0)
            f("mem_fragmentation_ratio", format2(Double(rss) / Double(max(1, used))))
            f("mem_fragmentation_bytes", rss - used)
            f("mem_not_counted_for_evict", memoryNotCountedForEviction)
            f("mem_replication_backlog", replicationBufferMemory - replicationBufferExcess(slack: false))
            f("mem_total_replication_buffers", replicationBufferMemory)
            f("mem_clients_slaves", clientMemory[ClientKind.replica.rawValue] + replicationBufferExcess(slack: false))
            f("mem_clients_normal", evictableKindsMemory)
            f("mem_cluster_links", 0)
            f("mem_aof_buffer", aof.bufferedBytes)
            f("mem_allocator", "libc")
            f("active_defrag_running", 0)
            f("lazyfree_pending_objects", 0)
            f("lazyfreed_objects", 0)
        case "persistence":
            lines.append("# Persistence")
            lines += persistenceFields()
        case "stats":
            let st = engine.stats
            lines.append("# Stats")
            f("total_connections_received", stats.totalConnections)
            f("total_commands_processed", st.totalCommands)
            f("instantaneous_ops_per_sec", 0)
            f("total_net_input_bytes", stats.netInputBytes)
            f("total_net_output_bytes", stats.netOutputBytes)
            f("total_net_repl_input_bytes", 0)
            f("total_net_repl_output_bytes", 0)
            f("instantaneous_input_kbps", "0.00")
            f("instantaneous_output_kbps", "0.00")
            f("instantaneous_input_repl_kbps", "0.00")
            f("instantaneous_output_repl_kbps", "0.00")
            f("rejected_connections", stats.rejectedConnections)
            f("sync_full", replication.syncFull)
            f("sync_partial_ok", replication.syncPartialOK)
            f("sync_partial_err", replication.syncPartialErr)
            f("expired_keys", st.expiredKeys)
            f("expired_stale_perc", "0.00")
            f("expired_time_cap_reached_count", 0)
            f("expire_cycle_cpu_milliseconds", 0)
            f("evicted_keys", st.evictedKeys)
            f("evicted_clients", stats.evictedClients)
            let exceeded = engine.eviction.exceededTimes()
            f("total_eviction_exceeded_time", exceeded.total)
            f("current_eviction_exceeded_time", exceeded.current)
            f("keyspace_hits", st.keyspaceHits)
            f("keyspace_misses", st.keyspaceMisses)
            f("pubsub_channels", engine.channels.count)
            f("pubsub_patterns", engine.patterns.count)
            f("pubsubshard_channels", engine.shardChannels.count)
            f("latest_fork_usec", snapshots.latestForkUsec)
            f("total_forks", snapshots.totalForks)
            f("migrate_cached_sockets", migrateSockets.count)
            f("slave_expires_tracked_keys", 0)
            f("active_defrag_hits", 0)
            f("active_defrag_misses", 0)
            f("active_defrag_key_hits", 0)
            f("active_defrag_key_misses", 0)
            f("total_active_defrag_time", 0)
            f("current_active_defrag_time", 0)
            f("tracking_total_keys", engine.tracking.totalKeys)
            f("tracking_total_items", engine.tracking.totalItems)
            f("tracking_total_prefixes", engine.tracking.totalPrefixes)
            f("unexpected_error_replies", 0)
            f("total_error_replies", st.totalErrorReplies)
            f("dump_payload_sanitizations", 0)
            f("total_reads_processed", stats.readsProcessed)
            f("total_writes_processed", stats.writesProcessed)
            f("io_threaded_reads_processed", 0)
            f("io_threaded_writes_processed", 0)
            f("reply_buffer_shrinks", 0)
            f("reply_buffer_expands", 0)
        case "replication":
            lines += replicationInfoLines()
        case "cpu":
            var ru = rusage()
            getrusage(RUSAGE_SELF.rawValue, &ru)
            var ch = rusage()
            getrusage(RUSAGE_CHILDREN.rawValue, &ch)
            func t(_ v: timeval) -> String { format6(Double(v.tv_sec) + Double(v.tv_usec) / 1e6) }
            lines.append("# CPU")
            f("used_cpu_sys", t(ru.ru_stime))
            f("used_cpu_user", t(ru.ru_utime))
            f("used_cpu_sys_children", t(ch.ru_stime))
            f("used_cpu_user_children", t(ch.ru_utime))
            f("used_cpu_sys_main_thread", t(ru.ru_stime))
            f("used_cpu_user_main_thread", t(ru.ru_utime))
        case "modules":
            lines.append("# Modules")
        case "errorstats":
            lines.append("# Errorstats")
            for (k, v) in engine.stats.errors.sorted(by: { $0.key < $1.key }) { f("errorstat_\(k)", "count=\(v)") }
        case "cluster":
            lines.append("# Cluster")
            f("cluster_enabled", 0)
        case "keyspace":
            lines.append("# Keyspace")
            for db in engine.databases where db.count > 0 {
                f("db\(db.id)", "keys=\(db.count),expires=\(db.expiresCount),avg_ttl=0")
            }
        case "commandstats":
            lines.append("# Commandstats")
            for (k, v) in engine.commandStats().sorted(by: { $0.key < $1.key }) where v.calls > 0 || v.rejectedCalls > 0 {
                let per = v.calls > 0 ? Double(v.usec) / Double(v.calls) : 0
                f("cmdstat_\(k)", "calls=\(v.calls),usec=\(v.usec),usec_per_call=\(format2(per)),rejected_calls=\(v.rejectedCalls),failed_calls=\(v.failedCalls)")
            }
        case "latencystats":
            lines.append("# Latencystats")
            var percentiles: [Double] = []
            if case .doubles(let v)? = config.value("latency-tracking-info-percentiles") { percentiles = v }
            for (name, h) in engine.commandHistograms() {
                let parts = percentiles.map { p -> String in
                    let ns = h.value(atPercentile: p)
                    return "p\(formatPercentile(p))=\(ns / 1000).\(String(repeating: "0", count: 3 - String(ns % 1000).count))\(ns % 1000)"
                }
                f("latency_percentiles_usec_\(name)", parts.joined(separator: ","))
            }
        default:
            break
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// Persistence fields before the RDB and AOF issues add real values.
    func persistenceFields() -> [String] {
        var fields = snapshots.infoFields(loading: engine.isLoading, asyncLoading: engine.isAsyncLoading, current: snapshots.childProgress ?? aof.childProgress)
        if engine.isLoading {
            let elapsed = max(0, engine.now / 1000 - loadingStart)
            fields += ["loading_start_time:\(loadingStart)", "loading_total_bytes:\(loadingBytes)", "loading_rdb_used_mem:0",
                       "loading_loaded_bytes:\(loadingBytes)", "loading_loaded_perc:0.00", "loading_eta_seconds:1",
                       "loading_time_elapsed_seconds:\(elapsed)"]
        }
        return fields + aof.infoFields()
    }

    func osName() -> String {
        var u = utsname()
        uname(&u)
        func field<T>(_ t: T) -> String {
            withUnsafeBytes(of: t) { b in String(decoding: b.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return "\(field(u.sysname)) \(field(u.release)) \(field(u.machine))"
    }

    /// Bytes the allocator has handed out (glibc mallinfo2).
    /// What the maxmemory eviction leaves out of used memory: the AOF buffer and replicas' output
    /// (Redis's mem_not_counted_for_evict).
    var memoryNotCountedForEviction: Int { aof.bufferedBytes + replicaOutputMemory }

    public func usedMemory() -> Int {
        // Lua's heaps are reported apart (used_memory_lua, used_memory_vm_*), as Redis's.
        max(0, Int(cairn_malloc_used()) + EngineMemory.mappedBytes - engine.luaHeapBytes)
    }

    /// Resident set size from /proc/self/statm.
    public func residentMemory() -> Int {
        let fd = open("/proc/self/statm", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 128)
        let n = read(fd, &buf, 127)
        guard n > 0 else { return 0 }
        let parts = String(decoding: buf[0 ..< n], as: UTF8.self).split(separator: " ")
        guard parts.count > 1, let pages = Int(parts[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    func totalSystemMemory() -> Int {
        Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// Redis's human-readable byte sizes ("1.50M").
func human(_ n: Int) -> String {
    let d = Double(n)
    if d < 1024 { return "\(n)B" }
    if d < 1024 * 1024 { return format2(d / 1024) + "K" }
    if d < 1024 * 1024 * 1024 { return format2(d / 1024 / 1024) + "M" }
    if d < 1024.0 * 1024 * 1024 * 1024 { return format2(d / 1024 / 1024 / 1024) + "G" }
    return format2(d / 1024 / 1024 / 1024 / 1024) + "T"
}

func format2(_ d: Double) -> String { formatFixed(d, 2) }
func format6(_ d: Double) -> String { formatFixed(d, 6) }

func formatFixed(_ d: Double, _ digits: Int) -> String {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buf in
        let n = withVaList([digits, d]) { vsnprintf(buf.baseAddress!, 64, "%.*f", $0) }
        return String(decoding: (0 ..< Int(n)).map { UInt8(bitPattern: buf[$0]) }, as: UTF8.self)
    }
}
