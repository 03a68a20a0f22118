// Shared by the AOF tests: where the Redis-written AOF fixtures are, and small readers over them.
import Foundation
@testable import StorageFormat
import TestSupport

enum AOFFixtures {
    static func path(_ rel: String) -> String { Paths.fixture("aof/" + rel) }
    static func bytes(_ rel: String) throws -> [UInt8] { try readBytes(path(rel)) }

    static let preambleDir = "redis70-preamble/appendonlydir/"
    static let plainDir = "redis70-plain/appendonlydir/"
    static let preambleBase = preambleDir + "appendonly.aof.2.base.rdb"
    static let preambleIncr = preambleDir + "appendonly.aof.2.incr.aof"
    static let plainBase = plainDir + "appendonly.aof.2.base.aof"
    static let plainIncr = plainDir + "appendonly.aof.2.incr.aof"
    static let legacy = "redis70-legacy/appendonly.aof"
}

/// Every record until the end; rethrows the reader's error.
func readAllRecords(_ r: AOFReader) throws -> [AOFRecord] {
    var out: [AOFRecord] = []
    while let rec = try r.next() { out.append(rec) }
    return out
}

/// The commands among `records`.
func aofCommandArgs(_ records: [AOFRecord]) -> [[[UInt8]]] {
    records.compactMap { if case .command(let args, _, _) = $0 { return args } else { return nil } }
}

func aofBytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// A command's arguments as text, for readable failures.
func aofArgsText(_ args: [[UInt8]]) -> String { args.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ") }

/// The outcome of reading a whole input: its records and the error that stopped it, if any.
func readOutcome(_ r: AOFReader) -> (records: [AOFRecord], error: Error?) {
    var out: [AOFRecord] = []
    do {
        while let rec = try r.next() { out.append(rec) }
        return (out, nil)
    } catch {
        return (out, error)
    }
}
