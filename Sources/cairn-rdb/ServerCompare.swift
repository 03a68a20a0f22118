// ServerComparer: compares keys read from a file with a live server, pipelined. For each key it sends
// DUMP and PEXPIRETIME (PTTL on servers without it, the expiry then being now + PTTL), decodes the
// payload with StorageFormat's DumpPayload and compares fingerprints (KeyDigest). `scanExtras`
// then SCANs the server's databases for keys the file did not have.
// Memory: the batch in flight (256 keys and their values), plus for scanExtras the set of the file's
// key fingerprints (16 bytes a key in a Swift Set, about 40 bytes a key with the table's slack).
import StorageFormat
import ToolKit
#if canImport(Glibc)
import Glibc
#endif

func nowMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

final class ServerComparer {
    let client: RESPClient
    let report: DiffReport
    let usePexpiretime: Bool
    /// The database the connection has selected (-1: unknown).
    var selected = -1
    var batch: [(db: Int, key: [UInt8], summary: KeySummary)] = []
    let batchSize = 256

    init(client: RESPClient, report: DiffReport) throws {
        self.client = client
        self.report = report
        let probe = try client.call("PEXPIRETIME", "cairn-rdb:probe")
        usePexpiretime = probe.errorText == nil
    }

    func select(_ db: Int) {
        if db != selected {
            client.send([Array("SELECT".utf8), Array(String(db).utf8)])
            selected = db
        }
    }

    func expiryCommand(_ key: [UInt8]) -> [[UInt8]] {
        [Array((usePexpiretime ? "PEXPIRETIME" : "PTTL").utf8), key]
    }

    /// The absolute expiry from a PEXPIRETIME / PTTL reply (nil: none or no key).
    func expiry(_ r: RESPReply, now: Int64) -> Int64? {
        guard let v = r.integer, v >= 0 else { return nil }
        return usePexpiretime ? v : now + v
    }

    /// Queues a key of the file for comparison.
    func add(db: Int, key: [UInt8], summary: KeySummary) throws {
        batch.append((db, key, summary))
        if batch.count >= batchSize { try flush() }
    }

    /// Sends the queued keys and compares the replies.
    func flush() throws {
        guard !batch.isEmpty else { return }
        var selects: [Bool] = []
        for item in batch {
            let before = client.pending
            select(item.db)
            selects.append(client.pending != before)
            client.send([Array("DUMP".utf8), item.key])
            client.send(expiryCommand(item.key))
        }
        try client.flush()
        let now = nowMilliseconds()
        for (i, item) in batch.enumerated() {
            if selects[i] {
                let r = try client.readReply()
                if let e = r.errorText { throw RESPClientError("SELECT \(item.db) failed: \(e)") }
            }
            let dump = try client.readReply()
            let ttl = try client.readReply()
            try compare(item.db, item.key, item.summary, dump: dump, ttl: ttl, now: now)
        }
        batch.removeAll(keepingCapacity: true)
    }

    func compare(_ db: Int, _ key: [UInt8], _ a: KeySummary, dump: RESPReply, ttl: RESPReply, now: Int64) throws {
        report.keysB += 1
        switch dump {
        case .bulk(nil):
            report.keysB -= 1
            try report.report(.missing, db: db, key: key, a: a, b: nil)
        case .bulk(let payload?):
            do {
                let (_, value) = try DumpPayload.decode(payload)
                let b = try KeySummary(value, expiresAt: expiry(ttl, now: now))
                try report.compare(db: db, key: key, a: a, b: b)
            } catch let e as DumpPayload.Rejection {
                try report.report(.error, db: db, key: key, a: a, b: nil, message: "the server's DUMP payload cannot be read: \(e)")
            }
        default:
            try report.report(.error, db: db, key: key, a: a, b: nil,
                              message: "DUMP failed: \(dump.errorText ?? "unexpected reply")")
        }
    }

    /// SCANs the server's databases (those the filter accepts) and reports every selected key whose
    /// fingerprint is not in `known` as extra.
    func scanExtras(filter: KeyFilter, known: Set<Digest128>) throws {
        try flush()
        var reported = Set<Digest128>()
        for db in try client.databasesWithKeys() where filter.accepts(db: db) {
            _ = try client.call([Array("SELECT".utf8), Array(String(db).utf8)])
            selected = db
            var cursor: [UInt8] = Array("0".utf8)
            repeat {
                var args: [[UInt8]] = [Array("SCAN".utf8), cursor, Array("COUNT".utf8), Array("1000".utf8)]
                if filter.types.count == 1, let t = filter.types.first { args += [Array("TYPE".utf8), Array(t.utf8)] }
                let reply = try client.call(args)
                guard case .array(let parts?) = reply, parts.count == 2, let next = parts[0].bytes,
                      case .array(let keys?) = parts[1] else {
                    throw RESPClientError("SCAN failed: \(reply.errorText ?? "unexpected reply")")
                }
                cursor = next
                var candidates: [[UInt8]] = []
                for k in keys {
                    guard let name = k.bytes, filter.matchesName(name) else { continue }
                    let d = KeyDigest.key(db: db, name)
                    if !known.contains(d) && !reported.contains(d) { candidates.append(name) }
                }
                guard !candidates.isEmpty else { continue }
                for name in candidates {
                    client.send([Array("DUMP".utf8), name])
                    client.send(expiryCommand(name))
                }
                try client.flush()
                let now = nowMilliseconds()
                for name in candidates {
                    let dump = try client.readReply()
                    let ttl = try client.readReply()
                    guard case .bulk(let payload?) = dump else { continue } // gone since the SCAN
                    let expiresAt = expiry(ttl, now: now)
                    let summary: KeySummary
                    do {
                        summary = try KeySummary(DumpPayload.decode(payload).value, expiresAt: expiresAt)
                    } catch let e as DumpPayload.Rejection {
                        guard filter.types.isEmpty else { continue }
                        reported.insert(KeyDigest.key(db: db, name))
                        try report.report(.error, db: db, key: name, a: nil, b: nil, message: "the server's DUMP payload cannot be read: \(e)")
                        continue
                    }
                    guard filter.matches(db: db, key: name, type: summary.typeName, expiresAt: expiresAt) else { continue }
                    reported.insert(KeyDigest.key(db: db, name))
                    report.keysB += 1
                    try report.report(.extra, db: db, key: name, a: nil, b: summary)
                }
            } while cursor != Array("0".utf8)
        }
    }
}
