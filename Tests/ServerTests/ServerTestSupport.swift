// Test support for the Server module: an in-process Engine with CONFIG registered, and CONFIG GET
// replies as pairs. (The Redis oracle, the RESP client and the rest are in TestSupport.)
import Foundation
import Testing
@testable import Engine
@testable import Server
import StorageFormat
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// An engine with CONFIG over `config`, and one session.
final class ConfigHarness {
    let engine: Engine
    let session: Session
    let config: ServerConfig

    init(config: ServerConfig = ServerConfig()) {
        self.config = config
        engine = Engine(config: config.engineConfig)
        engine.register(configCommands(config))
        engine.updateClock()
        session = engine.newSession()
    }

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

/// The elements of a flat RESP2 array of bulk strings (a CONFIG GET reply) as name → value pairs.
func configPairs(_ reply: [UInt8]) -> [String: String] {
    var out: [String: String] = [:]
    var items: [String] = []
    var i = 0
    // Skip the array header.
    while i + 1 < reply.count && !(reply[i] == 13 && reply[i + 1] == 10) { i += 1 }
    i += 2
    while i < reply.count {
        guard let end = replyEnd(reply, i) else { break }
        var j = i + 1
        while !(reply[j] == 13 && reply[j + 1] == 10) { j += 1 }
        items.append(String(decoding: reply[(j + 2) ..< (end - 2)], as: UTF8.self))
        i = end
    }
    var k = 0
    while k + 1 < items.count { out[items[k]] = items[k + 1]; k += 2 }
    return out
}
