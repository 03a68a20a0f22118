// The checker (RDBDecoder validating and counting, no visitor, strings streamed in pieces) and the reader
// (RDBDecoder handing every element to RDBValueBuilder) must agree on every input: both accept it with
// the same keys and element counts, or both refuse it at the same offset. Inputs: the rdb fuzz corpora
// (tools/fuzz/corpus/rdb, Fixtures/fuzz/rdb), the Redis-written fixtures, and deterministic mutations of
// each (cuts, byte flips, length bytes bumped). Also the cases where the three old walkers disagreed,
// settled by the stricter check.
import Foundation
import Testing
import TestSupport
@testable import StorageFormat

struct DecoderAgreementTests {
    /// What one side made of an input.
    enum Outcome: Equatable, CustomStringConvertible {
        /// (db, key, type code, elements) per key, empty keys included.
        case accepted([String])
        case refused(offset: Int)
        var description: String {
            switch self {
            case .accepted(let k): return "accepted \(k.count) keys"
            case .refused(let o): return "refused at \(o)"
            }
        }
    }

    static var checkerOptions: RDBDecoder.Options {
        // The reader's policy (RDBReader.Options.decoder), so only the decoding paths differ.
        var o = RDBDecoder.Options()
        o.verifyChecksum = false
        o.checkDuplicateKeys = false
        o.strictTypeVersions = false
        return o
    }

    static func checker(_ data: [UInt8]) -> Outcome {
        var keys: [String] = []
        var last = 0
        do {
            let d = try RDBDecoder(bytes: data, options: checkerOptions)
            d.onWarning = { _ in }
            while let r = try d.next() {
                last = d.offset
                switch r {
                case .key(let s), .emptyKey(let s):
                    keys.append("\(s.db) \(ByteText.quoted(s.key)) \(s.typeCode) \(s.elements)")
                default: break
                }
            }
        } catch let e as FormatError {
            return .refused(offset: e.offset)
        } catch {
            return .refused(offset: -last - 1)
        }
        return .accepted(keys)
    }

    static func elements(_ v: RDBValue) -> UInt64 {
        switch v {
        case .string: return 1
        case .list(let a), .set(let a): return UInt64(a.count)
        case .sortedSet(let a): return UInt64(a.count)
        case .hash(let a): return UInt64(a.count)
        case .stream(let s): return s.length
        case .module: return 0
        }
    }

    static func reader(_ data: [UInt8]) -> Outcome {
        var options = RDBReader.Options()
        options.verifyChecksum = false
        options.skipEmptyAggregates = false
        var keys: [String] = []
        var last = 0
        do {
            let r = try RDBReader(bytes: data, options: options)
            while let rec = try r.next() {
                last = r.offset
                if case .entry(let e) = rec {
                    keys.append("\(e.db) \(ByteText.quoted(e.key)) \(e.typeCode) \(elements(e.value))")
                }
            }
        } catch let e as FormatError {
            return .refused(offset: e.offset)
        } catch {
            return .refused(offset: -last - 1)
        }
        return .accepted(keys)
    }

    /// The seed files: the rdb fuzz corpora and the Redis-written fixtures.
    static func seeds() -> [(name: String, bytes: [UInt8])] {
        var out: [(String, [UInt8])] = []
        let fm = FileManager.default
        for dir in [Paths.repo("tools/fuzz/corpus/rdb"), Paths.fixture("fuzz/rdb"), Paths.fixture("rdb")] {
            for name in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted() where !name.hasSuffix(".json") && !name.hasSuffix(".md") {
                if let d = fm.contents(atPath: dir + "/" + name), d.count < 4 << 20 { out.append((dir + "/" + name, Array(d))) }
            }
        }
        return out
    }

    /// Deterministic mutations of `b`: cuts, byte flips and bumped bytes spread over the file.
    static func mutations(_ b: [UInt8], count: Int) -> [[UInt8]] {
        guard b.count > 10 else { return [] }
        var out: [[UInt8]] = []
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(b.count)
        func next() -> Int {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return Int(x % UInt64(b.count - 9)) + 9
        }
        for i in 0 ..< count {
            var m = b
            let at = next()
            switch i % 4 {
            case 0: m.removeSubrange(at...)
            case 1: m[at] ^= UInt8(truncatingIfNeeded: 1 << (i % 8))
            case 2: m[at] = m[at] &+ 1
            default: m[at] = [0x00, 0x40, 0x80, 0xC3, 0xFF][i % 5]
            }
            out.append(m)
        }
        return out
    }

    @Test func checkerAndReaderAgreeOnEveryInputOfTheFuzzCorpora() throws {
        let seeds = Self.seeds()
        #expect(seeds.count >= 60, "the corpora were not found: \(seeds.count) files")
        var inputs = 0
        var refused = 0
        var disagreements: [String] = []
        for (name, bytes) in seeds {
            for (i, input) in ([bytes] + Self.mutations(bytes, count: 60)).enumerated() {
                inputs += 1
                let c = Self.checker(input)
                let r = Self.reader(input)
                if case .refused = c { refused += 1 }
                if c != r && disagreements.count < 10 {
                    disagreements.append("\((name as NSString).lastPathComponent) #\(i): checker \(c), reader \(r)")
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
        // The mutations must reach the error paths, and the seeds the accepting ones.
        #expect(refused > inputs / 4 && refused < inputs)
    }

    // MARK: - Where the old walkers disagreed: the stricter check wins

    /// An RDB 10 file with one key of type `type` whose value is `body`.
    static func file(type: UInt8, key: String = "k", body: [UInt8]) -> [UInt8] {
        var b = Array("REDIS0010".utf8) + [0xFE, 0, type, UInt8(key.utf8.count)] + Array(key.utf8) + body
        b.append(0xFF)
        b += [UInt8](repeating: 0, count: 8)
        return b
    }

    static func rdbString(_ s: [UInt8]) -> [UInt8] { [UInt8(s.count)] + s }

    @Test func aStreamNodeTheCheckerRefusesIsRefusedByTheReaderToo() throws {
        // A stream (type 15) with one node whose listpack is a valid listpack but not a stream node
        // (one string element): the reader used to hand it on (so `cairn-rdb convert` copied it).
        var lp = ListpackEncoder()
        lp.append(Array("not-a-stream-node".utf8))
        let node = lp.finish()
        var body: [UInt8] = [1]                                 // one node
        body += Self.rdbString([UInt8](repeating: 0, count: 16))  // master id
        body += Self.rdbString(node)
        body += [1, 0, 0, 0]                                    // length 1, last id 0-0, no groups
        let f = Self.file(type: RDBType.streamListpacks, body: body)
        guard case .refused(let at) = Self.checker(f) else { Issue.record("checker accepted"); return }
        #expect(Self.reader(f) == .refused(offset: at))
    }

    @Test func aListpackScoreThatIsNoNumberIsRefusedByBoth() throws {
        var lp = ListpackEncoder()
        lp.append(Array("member".utf8))
        lp.append(Array("1.5abc".utf8))
        let f = Self.file(type: RDBType.zsetListpack, body: Self.rdbString(lp.finish()))
        // The checker used to warn and go on; the reader refused it.
        guard case .refused(let at) = Self.checker(f) else { Issue.record("checker accepted"); return }
        #expect(Self.reader(f) == .refused(offset: at))
        var walked = false
        do {
            let r = try RDBReader(bytes: f)
            while let rec = try r.nextWalking({ _ in RDBValueBuilder() }) { if case .key = rec { walked = true } }
        } catch let e as FormatError {
            #expect(e.offset == at)
            #expect(e.expected == "a sorted-set score")
        }
        #expect(!walked)
    }

    @Test func anEmptyZipmapAndAnEmptyPlainNodeAreRefusedByEveryReader() throws {
        // The element walk used to accept both.
        let zipmap: [UInt8] = [0, 0xFF]  // zero fields, end
        let quicklist: [UInt8] = [1, 1, 0] // one node, plain container, empty string
        for f in [Self.file(type: RDBType.hashZipmap, body: Self.rdbString(zipmap)),
                  Self.file(type: RDBType.listQuicklist2, body: quicklist)] {
            guard case .refused(let at) = Self.checker(f) else { Issue.record("checker accepted"); continue }
            #expect(Self.reader(f) == .refused(offset: at))
            do {
                let r = try RDBReader(bytes: f)
                while try r.nextWalking({ _ in RDBValueBuilder() }) != nil {}
                Issue.record("the walk accepted it")
            } catch let e as FormatError {
                #expect(e.offset == at)
            }
        }
    }
}
