// Differential testing support: run the same commands on Cairn's Engine (in process) and on a real
// Debian redis-server (TestSupport's RedisOracle, over a socket), and compare the reply bytes.
import Foundation
import Testing
@testable import Engine
import StorageFormat
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// An engine and one session, driven command by command.
final class EngineHarness {
    let engine: Engine
    let session: Session

    init(config: EngineConfig = EngineConfig()) {
        engine = Engine(config: config)
        engine.updateClock()
        session = engine.newSession()
    }

    /// Runs `args` and returns the reply bytes.
    @discardableResult
    func run(_ args: [[UInt8]]) -> [UInt8] {
        engine.updateClock()
        session.out.removeAll()
        engine.execute(session, args)
        let r = session.out
        session.out.removeAll()
        return r
    }

    @discardableResult
    func run(_ line: String) -> String { String(decoding: run(argv(line)), as: UTF8.self) }
}

/// Runs every line on both and records each difference (command, Redis's reply, Cairn's reply).
/// Lines starting with "#" are comments. Returns the number of commands compared.
@discardableResult
func compareWithRedis(_ script: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
    let oracle = try RedisOracle()
    let cairn = EngineHarness()
    _ = try oracle.run("FLUSHALL")
    var n = 0
    for line in script.split(separator: "\n") {
        let l = line.trimmingCharacters(in: .whitespaces)
        if l.isEmpty || l.hasPrefix("#") { continue }
        let args = argv(l)
        let theirs = try oracle.run(args)
        let mine = cairn.run(args)
        #expect(String(decoding: mine, as: UTF8.self) == String(decoding: theirs, as: UTF8.self), "\(l)", sourceLocation: sourceLocation)
        n += 1
    }
    return n
}
