// Per-client memory and client eviction against real processes, Cairn beside redis-server 7.0: CLIENT
// LIST's qbuf, argv-mem, multi-mem and tot-mem grow with what a client holds as Redis's do;
// maxmemory-clients disconnects a client whose buffers pass it (counted in evicted_clients, reset by
// CONFIG RESETSTAT), never a CLIENT NO-EVICT one, and the largest clients first.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The CLIENT LIST line of the client named `name`, or nil when it is gone.
private func clientLine(_ c: RawClient, _ name: String) throws -> String? {
    let text = try c.send("CLIENT LIST")
    return text.split(separator: "\n").first { $0.contains(" name=\(name) ") }.map(String.init)
}

private func field(_ line: String, _ f: String) -> Int? {
    for part in line.split(separator: " ") where part.hasPrefix(f + "=") {
        return Int(part.dropFirst(f.count + 1))
    }
    return nil
}

/// A field of a CLIENT LIST line, failing when it is missing.
private func value(_ line: String, _ f: String) throws -> Int {
    guard let v = field(line, f) else { throw TestFailure(description: "no \(f) in \(line)") }
    return v
}

/// The client's field, failing when the client or the field is missing.
private func fieldOf(_ c: RawClient, _ name: String, _ f: String) throws -> Int {
    guard let line = try clientLine(c, name) else { throw TestFailure(description: "no client named \(name)") }
    guard let v = field(line, f) else { throw TestFailure(description: "no \(f) in \(line)") }
    return v
}

/// Polls CLIENT LIST until the client's field satisfies `ok` (the server reads in its own time).
private func waitForField(_ c: RawClient, _ name: String, _ f: String, _ ok: (Int) -> Bool) throws -> Int? {
    let deadline = Date().addingTimeInterval(10)
    var last: Int? = nil
    while Date() < deadline {
        guard let line = try clientLine(c, name) else { return nil }
        last = field(line, f)
        if let v = last, ok(v) { return v }
        usleep(10_000)
    }
    return last
}

/// Polls until the client named `name` is no longer listed.
private func waitUntilGone(_ c: RawClient, _ name: String) throws -> Bool {
    let deadline = Date().addingTimeInterval(10)
    while Date() < deadline {
        if try clientLine(c, name) == nil { return true }
        usleep(10_000)
    }
    return false
}

/// A connected client with a name.
private func named(_ server: ServerProcess, _ name: String) throws -> RawClient {
    let c = try server.client()
    #expect(try c.send("CLIENT SETNAME \(name)") == "+OK\r\n")
    return c
}

/// The start of a one-argument request whose argument is `length` bytes, `sent` of them sent.
private func partialBigArgument(length: Int, sent: Int) -> [UInt8] {
    Array("*1\r\n$\(length)\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "v"), count: sent)
}

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"), .serialized)
struct ClientMemoryTests {
    @Test func fieldsGrowWithWhatTheClientHolds() throws {
        let servers = [try ServerProcess(), try ServerProcess(cairn: false)]
        var idle: [Int] = []
        for s in servers {
            let which = s.isCairn ? "Cairn" : "Redis"
            let control = try s.client()
            // An idle client: buffers of its own, no arguments, no transaction.
            let quiet = try named(s, "quiet")
            _ = quiet
            let line = try #require(try clientLine(control, "quiet"))
            #expect(field(line, "argv-mem") == 0 && field(line, "multi-mem") == 0, "\(which): \(line)")
            idle.append(try value(line, "tot-mem"))
            let rbs = try value(line, "rbs")
            #expect(rbs >= 1024 && rbs <= 16384, "\(which): \(line)")

            // A big argument half read: the query buffer holds exactly its bytes so far, the
            // arguments before it count in argv-mem, and tot-mem grows by at least the bytes held.
            let big = try named(s, "big")
            try big.write(Array("*3\r\n$3\r\nset\r\n$1\r\nk\r\n$300000\r\n".utf8) + [UInt8](repeating: 65, count: 200_000))
            let qbuf = try waitForField(control, "big", "qbuf") { $0 == 200_000 }
            #expect(qbuf == 200_000, "\(which) qbuf \(String(describing: qbuf))")
            let bigLine = try #require(try clientLine(control, "big"))
            #expect(field(bigLine, "argv-mem") == 4, "\(which): \(bigLine)")
            let qbufFree = try value(bigLine, "qbuf-free")
            // Sized to the argument (Redis's allocator rounds 300 KB up to its 320 KB size class).
            #expect(qbufFree >= 100_002 && qbufFree < 150_000, "\(which): the buffer is sized to the argument: \(bigLine)")
            #expect(try value(bigLine, "tot-mem") >= 300_000 + 4, "\(which): \(bigLine)")
            try big.write([UInt8](repeating: 65, count: 100_000) + Array("\r\n".utf8))
            #expect(String(decoding: try big.readReply(), as: UTF8.self) == "+OK\r\n")
            #expect(try waitForField(control, "big", "argv-mem") { $0 == 0 } == 0)

            // Queued MULTI commands: their argument bytes plus 8 per argument, as Redis counts them.
            let tx = try named(s, "tx")
            #expect(try tx.send("MULTI") == "+OK\r\n")
            #expect(String(decoding: try tx.send([Array("SET".utf8), Array("k".utf8), [UInt8](repeating: 66, count: 10_000)]),
                           as: UTF8.self) == "+QUEUED\r\n")
            let txLine = try #require(try clientLine(control, "tx"))
            #expect(field(txLine, "multi-mem") == 3 + 1 + 10_000 + 3 * 8, "\(which): \(txLine)")
            #expect(try value(txLine, "tot-mem") >= idle.last! + 10_000, "\(which): \(txLine)")
            _ = try tx.send("DISCARD")
            #expect(try fieldOf(control, "tx", "multi-mem") == 0)
        }
        // An idle client costs the same order of memory on both (Cairn: its objects and two 16 KB buffers).
        #expect(idle[0] > idle[1] / 2 && idle[0] < idle[1] * 3, "idle tot-mem Cairn \(idle[0]) Redis \(idle[1])")
    }

    @Test func clientOverTheLimitIsEvictedUnlessNoEvict() throws {
        let limit = 1_000_000
        for s in [try ServerProcess(), try ServerProcess(cairn: false)] {
            let which = s.isCairn ? "Cairn" : "Redis"
            let control = try named(s, "control")
            #expect(try control.send("CLIENT NO-EVICT on") == "+OK\r\n")
            #expect(try control.send("CONFIG SET maxmemory-clients \(limit)") == "+OK\r\n")
            #expect(try control.infoInteger("", "evicted_clients") == 0)

            // A client whose query buffer passes the limit is disconnected, and counted; a small one stays.
            let small = try named(s, "small")
            let victim = try named(s, "victim")
            try victim.write(partialBigArgument(length: limit + 100_000, sent: limit + 1))
            #expect(try waitUntilGone(control, "victim"), "\(which): a client over maxmemory-clients stays")
            #expect(victim.isClosedByServer())
            #expect(try control.infoInteger("", "evicted_clients") == 1, "\(which)")
            #expect(try small.send("PING") == "+PONG\r\n", "\(which): a small client was evicted")
            if s.isCairn { #expect(s.log().contains("Evicting client: id="), "the eviction is logged") }
            #expect(try control.send("CONFIG RESETSTAT") == "+OK\r\n")
            #expect(try control.infoInteger("", "evicted_clients") == 0)

            // CLIENT NO-EVICT on: the same buffer is kept past the limit (flag e). Over the limit, every
            // evictable client goes, so the small one is protected too.
            #expect(try small.send("CLIENT NO-EVICT on") == "+OK\r\n")
            let kept = try named(s, "kept")
            #expect(try kept.send("CLIENT NO-EVICT on") == "+OK\r\n")
            try kept.write(partialBigArgument(length: limit + 100_000, sent: limit + 1))
            #expect(try waitForField(control, "kept", "qbuf") { $0 == limit + 1 } == limit + 1, "\(which)")
            let keptLine = try #require(try clientLine(control, "kept"))
            #expect(try value(keptLine, "tot-mem") > limit, "\(which): \(keptLine)")
            #expect(keptLine.contains("flags=e"), "\(which): \(keptLine)")
            #expect(try control.infoInteger("", "evicted_clients") == 0)
        }
    }

    @Test func largestClientsAreEvictedFirst() throws {
        // Sizes at least twice apart, so each is in its own size bucket (Redis orders buckets only).
        let sizes = [100_000, 400_000, 1_600_000]
        for s in [try ServerProcess(), try ServerProcess(cairn: false)] {
            let which = s.isCairn ? "Cairn" : "Redis"
            let control = try named(s, "control")
            #expect(try control.send("CLIENT NO-EVICT on") == "+OK\r\n")
            #expect(try control.send("DEBUG REPLYBUFFER RESIZING 0") == "+OK\r\n")
            var clients: [RawClient] = []
            var mem: [Int] = []
            for (i, size) in sizes.enumerated() {
                let c = try named(s, "size\(i)")
                try c.write(partialBigArgument(length: size + 10, sent: size))
                #expect(try waitForField(control, "size\(i)", "qbuf") { $0 == size } == size, "\(which)")
                clients.append(c)
                mem.append(try fieldOf(control, "size\(i)", "tot-mem"))
            }
            let controlMem = try fieldOf(control, "control", "tot-mem")
            // Room for the two smaller ones (and the control client): only the largest goes.
            #expect(try control.send("CONFIG SET maxmemory-clients \(mem[0] + mem[1] + controlMem + 4096)") == "+OK\r\n")
            #expect(try waitUntilGone(control, "size2"), "\(which)")
            #expect(try clientLine(control, "size1") != nil, "\(which)")
            #expect(try clientLine(control, "size0") != nil, "\(which)")
            // Then room for the smallest only.
            #expect(try control.send("CONFIG SET maxmemory-clients \(mem[0] + controlMem + 4096)") == "+OK\r\n")
            #expect(try waitUntilGone(control, "size1"), "\(which)")
            #expect(try clientLine(control, "size0") != nil, "\(which)")
            #expect(try control.infoInteger("", "evicted_clients") == 2, "\(which)")
            _ = clients
        }
    }

    @Test func outputBufferGrowthEvictsAClientThatDoesNotRead() throws {
        for s in [try ServerProcess(), try ServerProcess(cairn: false)] {
            let which = s.isCairn ? "Cairn" : "Redis"
            let control = try named(s, "control")
            #expect(try control.send("SETRANGE k 200000 v") == ":200001\r\n")
            #expect(try control.send("CONFIG SET maxmemory-clients 2000000") == "+OK\r\n")
            let reader = try named(s, "reader")
            // Replies pile up in the server (after the socket buffers fill) until the client is evicted.
            var evicted = false
            for _ in 0 ..< 400 {
                do { try reader.write(RawClient.encode([Array("GET".utf8), Array("k".utf8)])) } catch { evicted = true; break }
                guard let line = try clientLine(control, "reader") else { evicted = true; break }
                #expect(try value(line, "tot-mem") < 2_000_000, "\(which): \(line)")
            }
            if !evicted { evicted = try waitUntilGone(control, "reader") }
            #expect(evicted, "\(which)")
            #expect(try control.infoInteger("", "evicted_clients") == 1, "\(which)")
            #expect(try control.infoInteger("", "evicted_keys") == 0)
        }
    }
}
