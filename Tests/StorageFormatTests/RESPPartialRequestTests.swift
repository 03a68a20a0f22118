// RESPPartialRequest: a request parsed as its bytes arrive, in pieces of any size, gives the same
// commands as the whole input parsed at once, takes each argument out of the input as soon as it is
// complete (counting its bytes, as Redis's argv-mem), and reports protocol errors the same way.
import Testing
@testable import StorageFormat

/// Feeds `input` in pieces of `step` bytes as a server does: the unconsumed bytes stay, new ones are
/// appended, and every step parses from the start of what is held.
private func parseInPieces(_ input: [UInt8], step: Int) -> (commands: [[[UInt8]]], error: String?, held: Int) {
    var held: [UInt8] = []
    var partial = RESPPartialRequest()
    var commands: [[[UInt8]]] = []
    var at = 0
    while at < input.count {
        held += input[at ..< min(input.count, at + step)]
        at += step
        parsing: while !held.isEmpty {
            let r = held.withUnsafeBytes { RESPRequestParser.parse($0, partial: &partial) }
            switch r {
            case .command(let args, let n): commands.append(args); held.removeFirst(n)
            case .skip(let n): held.removeFirst(n)
            case .incomplete(let n): held.removeFirst(n); break parsing
            case .protocolError(let m): return (commands, m, held.count)
            }
        }
    }
    return (commands, nil, held.count)
}

@Suite struct RESPPartialRequestTests {
    static let input = Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123456789\r\n*0\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n".utf8)

    @Test(arguments: [1, 2, 3, 5, 7, 16, 1000])
    func piecesGiveTheSameCommands(step: Int) {
        let r = parseInPieces(Self.input, step: step)
        #expect(r.error == nil)
        #expect(r.held == 0)
        #expect(r.commands == [
            [Array("SET".utf8), Array("k".utf8), Array("0123456789".utf8)],
            [Array("PING".utf8)],
            [Array("ECHO".utf8), []],
        ])
    }

    @Test func completeArgumentsLeaveTheInput() {
        var partial = RESPPartialRequest()
        let bytes = Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc".utf8)
        let r = bytes.withUnsafeBytes { RESPRequestParser.parse($0, partial: &partial) }
        guard case .incomplete(let consumed) = r else { Issue.record("\(r)"); return }
        // Everything up to the third argument's data is taken: SET, k and the "$100" line.
        #expect(consumed == bytes.count - 3)
        #expect(partial.args.count == 2 && partial.argumentBytes == 4)
        #expect(partial.bulkLength == 100 && partial.remaining == 1)
        // A caller holding exactly the argument hands it over; the request is then complete.
        partial.append([UInt8](repeating: 1, count: 100))
        #expect(partial.isComplete)
        #expect(partial.take().map(\.count) == [3, 1, 100])
        #expect(partial.argumentBytes == 0 && partial.remaining == 0 && partial.bulkLength == -1)
    }

    @Test func protocolErrorsAsInOneGo() {
        let bad = Array("*2\r\n$3\r\nGET\r\n!x\r\n".utf8)
        let whole = bad.withUnsafeBytes { RESPRequestParser.parse($0) }
        guard case .protocolError(let expected) = whole else { Issue.record("\(whole)"); return }
        for step in [1, 4, 100] {
            #expect(parseInPieces(bad, step: step).error == expected)
        }
    }

    /// The look ahead a server prefetches keys with: each complete request's second argument, stopping at
    /// the first incomplete or inline one, and the bytes walked.
    @Test func scanKeysWalksCompleteRequests() {
        let reqs: [[String]] = [["SET", "key:1", "v"], ["GET", "k2"], ["PING"], ["MSET", "a", "1", "b", "2"], ["INCR", ""]]
        var input: [UInt8] = []
        var ends: [Int] = []
        for r in reqs {
            input += Array("*\(r.count)\r\n".utf8)
            for a in r { input += Array("$\(a.utf8.count)\r\n\(a)\r\n".utf8) }
            ends.append(input.count)
        }
        func scan(_ bytes: [UInt8], limit: Int = 16) -> ([String], Int) {
            var keys: [String] = []
            let n = bytes.withUnsafeBytes { RESPRequestParser.scanKeys($0, limit: limit) { keys.append(String(decoding: $0, as: UTF8.self)) } }
            return (keys, n)
        }
        #expect(scan(input) == (["key:1", "k2", "a", ""], ends[4]))
        #expect(scan(input, limit: 2) == (["key:1", "k2"], ends[1]))
        // Cut inside the fourth request: the first three are walked.
        #expect(scan(Array(input[..<(ends[3] - 3)])) == (["key:1", "k2"], ends[2]))
        // An inline request, or a malformed length, stops the walk where it starts.
        #expect(scan(Array(input[..<ends[1]]) + Array("PING\r\n".utf8) + input) == (["key:1", "k2"], ends[1]))
        #expect(scan(Array("*2\r\n$x\r\n".utf8)) == ([], 0))
        #expect(scan([]) == ([], 0))
        // Script calls: the first key comes after the script (or its SHA or function name) and numkeys.
        var calls: [UInt8] = []
        for r in [["evalsha", "abc", "1", "k:1", "x"], ["EVAL_RO", "s", "2", "k:2", "k:3"], ["FCALL", "f", "1", "k:4"],
                  ["fcall_ro", "f", "1", "k:5"], ["EVALSHA_RO", "a", "1", "k:6"], ["EVAL", "s", "0"], ["EVALX", "k:7"]] {
            calls += Array("*\(r.count)\r\n".utf8)
            for a in r { calls += Array("$\(a.utf8.count)\r\n\(a)\r\n".utf8) }
        }
        #expect(scan(calls).0 == ["k:1", "k:2", "k:4", "k:5", "k:6", "k:7"])
    }
}
