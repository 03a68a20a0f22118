// cairn-rdb generate OUT --keys N: writes a synthetic RDB file for tests and benchmarks, deterministic by
// seed (the same arguments give the same bytes). Keys are named "<type>:<index>"; their types follow
// --mix; strings are integers, random text or compressible text; aggregates have 1 to 2×--elements
// elements, written in the encodings Redis 7.0 picks (listpack, intset, quicklist…). --big-hash N adds
// one hash "bighash" of N fields, streamed element by element (RDBWriter.beginValue), so generating it
// takes no memory for its fields; --big-zset N and --big-list N add "bigzset" and "biglist" the same
// way. Nothing else is held in memory: one key at a time.
import ArgumentParser
import StorageFormat
import ToolKit

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a synthetic RDB file of N keys with a given type mix, deterministic by seed.")

    @Argument(help: "The RDB file to write.")
    var out: String

    @Option(help: "Number of keys (besides --big-hash).")
    var keys: Int

    @Option(help: "Random seed: the same seed and options give the same file.")
    var seed: UInt64 = 1

    @Option(help: "Type mix as weights, e.g. strings=50,hashes=20,lists=10,sets=10,zsets=10.")
    var mix: String = "strings=50,hashes=20,lists=10,sets=10,zsets=10"

    @Option(name: .customLong("big-hash"), help: "Add one hash named \"bighash\" with this many fields (streamed).")
    var bigHash: Int = 0

    @Option(name: .customLong("big-zset"), help: "Add one sorted set named \"bigzset\" with this many members (streamed).")
    var bigZset: Int = 0

    @Option(name: .customLong("big-list"), help: "Add one list named \"biglist\" with this many elements (streamed).")
    var bigList: Int = 0

    @Option(help: "Average elements per aggregate (each has 1 to twice this).")
    var elements: Int = 8

    @Option(name: .customLong("value-bytes"), help: "Average string length in bytes (strings and elements).")
    var valueBytes: Int = 24

    @Option(help: "Spread the keys over this many databases.")
    var dbs: Int = 1

    @Option(name: .customLong("expire-percent"), help: "Percentage of keys with an expiry (all in the future).")
    var expirePercent: Int = 10

    @Option(name: .customLong("to-version"), help: "RDB version to write: 9, 10, 11 or 12.")
    var version: Int = 10

    @Flag(name: .customLong("no-compression"), help: "Write strings without LZF (rdbcompression no).")
    var noCompression = false

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar.")
    var noProgress = false

    func validate() throws {
        guard keys >= 0 else { throw ValidationError("--keys must be 0 or more") }
        guard bigHash >= 0, bigZset >= 0, bigList >= 0 else { throw ValidationError("--big-hash, --big-zset and --big-list must be 0 or more") }
        guard elements >= 1, valueBytes >= 1 else { throw ValidationError("--elements and --value-bytes must be at least 1") }
        guard dbs >= 1, dbs <= 16 else { throw ValidationError("--dbs must be 1 to 16") }
        guard (0 ... 100).contains(expirePercent) else { throw ValidationError("--expire-percent must be 0 to 100") }
        guard RDBWriterOptions.supportedVersions.contains(version) else { throw ValidationError("--to-version must be 9, 10, 11 or 12") }
        _ = try parsedMix()
    }

    static let typeNames = ["strings", "hashes", "lists", "sets", "zsets"]
    static let keyPrefixes = ["string", "hash", "list", "set", "zset"]

    func parsedMix() throws -> [Int] {
        var weights = [Int](repeating: 0, count: GenerateCommand.typeNames.count)
        for part in mix.split(separator: ",") {
            let kv = part.split(separator: "=")
            guard kv.count == 2, let i = GenerateCommand.typeNames.firstIndex(of: String(kv[0])), let w = Int(kv[1]), w >= 0 else {
                throw ValidationError("--mix: expected name=weight with names \(GenerateCommand.typeNames.joined(separator: ", ")), not \(part)")
            }
            weights[i] = w
        }
        guard weights.reduce(0, +) > 0 else { throw ValidationError("--mix: the weights add up to 0") }
        return weights
    }

    func run() throws {
        try CairnRDB.guarded {
            let weights = try parsedMix()
            var options = RDBWriterOptions(version: version)
            options.compression = !noCompression
            var generator = SyntheticData(seed: seed, elements: elements, valueBytes: valueBytes)
            let progress = Progress(label: "generating", total: nil, enabled: !noProgress)
            defer { progress.finish() }
            var written = 0
            try writeAtomically(to: out) { file in
                let writer = try RDBWriter(options: options) { try file.write($0) }
                try writer.writeHeader()
                try writer.writeStandardAux(ctime: 1_700_000_000, usedMem: 0)
                let total = weights.reduce(0, +)
                for db in 0 ..< dbs {
                    let first = keys * db / dbs, last = keys * (db + 1) / dbs
                    let bigKeys = db == 0 ? [bigHash, bigZset, bigList].filter { $0 > 0 }.count : 0
                    if last == first && bigKeys == 0 { continue }
                    try writer.writeSelectDB(db)
                    try writer.writeResizeDB(dbSize: UInt64(last - first + bigKeys), expiresSize: 0)
                    for i in first ..< last {
                        var pick = Int(generator.next() % UInt64(total))
                        var type = 0
                        while pick >= weights[type] { pick -= weights[type]; type += 1 }
                        let expires: Int64? = Int(generator.next() % 100) < expirePercent
                            ? 4_102_444_800_000 + Int64(generator.next() % 86_400_000) : nil
                        let key = Array("\(GenerateCommand.keyPrefixes[type]):\(i)".utf8)
                        try writer.writeEntry(key: key, value: generator.value(type: type), expiresAt: expires)
                        written += 1
                        if written & 1023 == 0 { progress.update(writer.bytesWritten) }
                    }
                    if db == 0 && bigHash > 0 {
                        try writer.beginValue(.hash, key: Array("bighash".utf8), count: bigHash)
                        var field = [UInt8](), value = [UInt8]()
                        for i in 0 ..< bigHash {
                            field.removeAll(keepingCapacity: true)
                            field.append(contentsOf: "field:\(i)".utf8)
                            generator.text(into: &value, length: 1 + Int(generator.next() % UInt64(valueBytes * 2)))
                            try field.withUnsafeBytes { f in try value.withUnsafeBytes { v in try writer.appendHashField(f, value: v) } }
                            if i & 65535 == 0 { progress.update(writer.bytesWritten) }
                        }
                        try writer.endValue()
                        written += 1
                    }
                    if db == 0 && bigZset > 0 {
                        // Highest score first, as Redis writes a skiplist.
                        try writer.beginValue(.sortedSet, key: Array("bigzset".utf8), count: bigZset)
                        var member = [UInt8]()
                        for i in 0 ..< bigZset {
                            member.removeAll(keepingCapacity: true)
                            member.append(contentsOf: "member:\(i)".utf8)
                            try member.withUnsafeBytes { try writer.appendSortedSetMember($0, score: Double(bigZset - i) / 4) }
                            if i & 65535 == 0 { progress.update(writer.bytesWritten) }
                        }
                        try writer.endValue()
                        written += 1
                    }
                    if db == 0 && bigList > 0 {
                        try writer.beginValue(.list, key: Array("biglist".utf8), count: bigList)
                        var item = [UInt8]()
                        for i in 0 ..< bigList {
                            generator.text(into: &item, length: 1 + Int(generator.next() % UInt64(valueBytes * 2)))
                            try item.withUnsafeBytes { try writer.appendListElement($0) }
                            if i & 65535 == 0 { progress.update(writer.bytesWritten) }
                        }
                        try writer.endValue()
                        written += 1
                    }
                }
                try writer.finish()
                progress.finish()
                printError("cairn-rdb generate: wrote \(written) keys, \(writer.bytesWritten) bytes to \(out)")
            }
        }
    }
}

/// Deterministic synthetic values (SplitMix64).
struct SyntheticData {
    var state: UInt64
    let elements: Int
    let valueBytes: Int

    init(seed: UInt64, elements: Int, valueBytes: Int) {
        state = seed &* 0x9E37_79B9_7F4A_7C15 ^ 0xD1B5_4A32_D192_ED03
        self.elements = elements
        self.valueBytes = valueBytes
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
    static let prose = Array("the quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat ".utf8)

    /// Random text, or (one time in three) compressible prose, of `length` bytes.
    mutating func text(into out: inout [UInt8], length: Int) {
        out.removeAll(keepingCapacity: true)
        if next() % 3 == 0 {
            let start = Int(next() % UInt64(SyntheticData.prose.count))
            for i in 0 ..< length { out.append(SyntheticData.prose[(start + i) % SyntheticData.prose.count]) }
        } else {
            var r = next()
            for i in 0 ..< length {
                if i % 10 == 9 { r = next() }
                out.append(SyntheticData.alphabet[Int(r % 62)])
                r /= 62
            }
        }
    }

    mutating func string() -> [UInt8] {
        if next() % 4 == 0 { return StrictInteger.format(Int64(next() % 2_000_000_000) - 1_000_000_000) }
        var out = [UInt8]()
        text(into: &out, length: 1 + Int(next() % UInt64(valueBytes * 2)))
        return out
    }

    mutating func count() -> Int { 1 + Int(next() % UInt64(elements * 2)) }

    mutating func value(type: Int) -> RDBValue {
        switch type {
        case 0:
            return .string(string())
        case 1:
            let n = count()
            return .hash((0 ..< n).map { i in RDBHashField(field: Array("field:\(i)".utf8), value: string()) })
        case 2:
            let n = count()
            return .list((0 ..< n).map { _ in string() })
        case 3:
            let n = count()
            if next() % 3 == 0 {
                let base = Int64(next() % 1_000_000)
                return .set((0 ..< n).map { i in StrictInteger.format(base + Int64(i) * 7) })
            }
            return .set((0 ..< n).map { i in Array("member:\(i):".utf8) + string().prefix(12) })
        default:
            let n = count()
            return .sortedSet((0 ..< n).map { i in
                let score = next() % 2 == 0 ? Double(next() % 1000) : Double(next() % 1_000_000) / 1000
                return RDBScoredMember(member: Array("m:\(i)".utf8), score: score)
            })
        }
    }
}
