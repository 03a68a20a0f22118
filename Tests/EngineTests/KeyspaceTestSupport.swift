// Test support for the keys and strings families: a differential runner over a prepared harness.
// Lines may carry directives: "!resp3" / "!resp2" switch both sides' protocol (HELLO on Redis, the
// session's field here), "SORTED <command>" compares a flat array reply as a multiset.
// When the list family is not in the engine yet, a minimal LPUSH/RPUSH (through the list type's
// `init(elements:config:)` and `elements()`) is registered so scripts can build lists.
import Foundation
import Testing
@testable import Engine
import StorageFormat
import TestSupport

func keyspaceHarness() -> EngineHarness {
    let h = EngineHarness()
    if h.engine.commands["rpush"] == nil {
        func push(_ left: Bool) -> CommandHandler {
            { ctx in
                let key = ctx.key(1)
                var items: [ByteString] = []
                switch ctx.lookupWrite(key) {
                case nil: break
                case .list(let l)?: items = l.elements()
                default: return ctx.wrongType()
                }
                for i in 2 ..< ctx.argc {
                    if left { items.insert(ctx.key(i), at: 0) } else { items.append(ctx.key(i)) }
                }
                ctx.db.set(key, .list(ListValue(elements: items, config: ctx.engine.config)), keepTTL: true)
                ctx.modified(key)
                ctx.integer(items.count) as Void
            }
        }
        h.engine.register([
            CommandSpec("rpush", arity: -3, flags: [.write], firstKey: 1, lastKey: 1, step: 1, handler: push(false)),
            CommandSpec("lpush", arity: -3, flags: [.write], firstKey: 1, lastKey: 1, step: 1, handler: push(true)),
        ])
    }
    return h
}

/// True when the engine has every command named (other families' commands a test needs).
func engineHas(_ names: String...) -> Bool {
    let e = Engine()
    return names.allSatisfy { e.commands[$0] != nil }
}

/// The elements of a flat RESP array reply of bulk strings, as text, sorted; nil if not such a reply.
func sortedElements(_ reply: [UInt8]) -> [String]? {
    guard reply.first == UInt8(ascii: "*"), let nl = reply.firstIndex(of: 10) else { return nil }
    var i = nl + 1
    var out: [String] = []
    while i < reply.count, let e = replyEnd(reply, i) {
        out.append(String(decoding: reply[i ..< e], as: UTF8.self))
        i = e
    }
    return out.sorted()
}

/// Like compareWithRedis, over `harness` (default: keyspaceHarness()), with the directives above.
@discardableResult
func compareKeyspace(_ script: String, harness: EngineHarness? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
    let oracle = try RedisOracle()
    let cairn = harness ?? keyspaceHarness()
    _ = try oracle.run("FLUSHALL")
    var n = 0
    for line in script.split(separator: "\n") {
        var l = line.trimmingCharacters(in: .whitespaces)
        if l.isEmpty || l.hasPrefix("#") { continue }
        if l == "!resp3" || l == "!resp2" {
            _ = try oracle.run(l == "!resp3" ? "HELLO 3" : "HELLO 2")
            cairn.session.resp = l == "!resp3" ? 3 : 2
            continue
        }
        var sorted = false
        if l.hasPrefix("SORTED ") {
            sorted = true
            l = String(l.dropFirst(7))
        }
        let args = argv(l)
        let theirs = try oracle.run(args)
        let mine = cairn.run(args)
        if sorted, let a = sortedElements(mine), let b = sortedElements(theirs) {
            #expect(a == b, "\(l)", sourceLocation: sourceLocation)
        } else {
            #expect(String(decoding: mine, as: UTF8.self) == String(decoding: theirs, as: UTF8.self), "\(l)",
                    sourceLocation: sourceLocation)
        }
        n += 1
    }
    return n
}

/// The value of an integer reply (":12\r\n"), or nil.
func intReply(_ s: String) -> Int? {
    guard s.hasPrefix(":") else { return nil }
    return Int(s.dropFirst().trimmingCharacters(in: .whitespacesAndNewlines))
}
