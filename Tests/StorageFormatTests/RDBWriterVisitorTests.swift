// RDBWriterVisitor (what `cairn-rdb convert` runs: the decoder feeding the writer) writes the same bytes
// as decoding each value whole and calling writeEntry, for every type and encoding, small and large,
// into every RDB version the writer supports; and it writes big values without building them.
import Foundation
import Testing
import TestSupport
@testable import StorageFormat

@Suite struct RDBWriterVisitorTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Values of every type in small and large forms (large: past every encoding limit).
    static func dataset() -> [(key: [UInt8], value: RDBValue, expiresAt: Int64?)] {
        var out: [([UInt8], RDBValue, Int64?)] = []
        out.append((b("str"), .string(b("hello world, a string long enough to compress compress compress")), nil))
        out.append((b("int"), .string(b("12345")), 4_102_444_800_000))
        out.append((b("list-small"), .list((0 ..< 5).map { b("e\($0)") }), nil))
        out.append((b("list-big"), .list((0 ..< 3000).map { b("element-\($0)") }), nil))
        out.append((b("set-ints"), .set((0 ..< 20).map { b("\($0 * 7)") }), nil))
        out.append((b("set-ints-big"), .set((0 ..< 600).map { b("\($0 * 3)") }), nil))
        out.append((b("set-small"), .set((0 ..< 10).map { b("m\($0)") }), nil))
        out.append((b("set-big"), .set((0 ..< 1000).map { b("member-\($0)") }), 4_102_444_800_000))
        out.append((b("zset-small"), .sortedSet((0 ..< 10).map { RDBScoredMember(member: b("z\($0)"), score: Double($0) / 3) }), nil))
        out.append((b("zset-big"), .sortedSet((0 ..< 500).map { RDBScoredMember(member: b("zz\($0)"), score: Double(($0 * 37) % 101)) }), nil))
        out.append((b("hash-small"), .hash((0 ..< 10).map { RDBHashField(field: b("f\($0)"), value: b("v\($0)")) }), nil))
        out.append((b("hash-longvalue"), .hash([RDBHashField(field: b("f"), value: [UInt8](repeating: 65, count: 100))]), nil))
        out.append((b("hash-big"), .hash((0 ..< 1000).map { RDBHashField(field: b("field-\($0)"), value: b("value-\($0)")) }), nil))
        return out
    }

    static func file(version: Int, _ entries: [(key: [UInt8], value: RDBValue, expiresAt: Int64?)]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        let w = try RDBWriter(options: RDBWriterOptions(version: version)) { bytes.append(contentsOf: $0) }
        try w.writeHeader()
        try w.writeSelectDB(0)
        for e in entries { try w.writeEntry(key: e.key, value: e.value, expiresAt: e.expiresAt) }
        try w.finish()
        return bytes
    }

    /// `source` rewritten into `version` the old way: each value decoded whole, then writeEntry.
    static func convertWhole(_ source: [UInt8], version: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        let w = try RDBWriter(options: RDBWriterOptions(version: version)) { bytes.append(contentsOf: $0) }
        try w.writeHeader()
        let r = try RDBReader(bytes: source)
        while let rec = try r.next() {
            switch rec {
            case .selectDB(let db): try w.writeSelectDB(db)
            case .entry(let e): try w.writeEntry(key: e.key, value: e.value, expiresAt: e.expiresAt, idle: e.idle, freq: e.freq)
            case .end: try w.finish()
            default: break
            }
        }
        return bytes
    }

    /// The same through RDBWriterVisitor.
    static func convertStreaming(_ source: [UInt8], version: Int) throws -> (bytes: [UInt8], keys: Int) {
        var bytes: [UInt8] = []
        let w = try RDBWriter(options: RDBWriterOptions(version: version)) { bytes.append(contentsOf: $0) }
        try w.writeHeader()
        let r = try RDBReader(bytes: source)
        let v = RDBWriterVisitor(writer: w)
        while let rec = try r.nextWalking({ _ in v }) {
            guard case .record(let record) = rec else { continue }
            switch record {
            case .selectDB(let db): try w.writeSelectDB(db)
            case .end: try w.finish()
            default: break
            }
        }
        return (bytes, v.keysWritten)
    }

    @Test(arguments: RDBWriterOptions.supportedVersions.flatMap { from in RDBWriterOptions.supportedVersions.map { (from, $0) } })
    func sameBytesAsWritingWholeValues(from: Int, to: Int) throws {
        let source = try Self.file(version: from, Self.dataset())
        let whole = try Self.convertWhole(source, version: to)
        let streamed = try Self.convertStreaming(source, version: to)
        #expect(streamed.keys == Self.dataset().count)
        #expect(streamed.bytes == whole, "RDB \(from) -> \(to): \(streamed.bytes.count) bytes vs \(whole.count)")
        // And it reads back to the same values.
        var back: [[UInt8]: RDBValue] = [:]
        let r = try RDBReader(bytes: streamed.bytes)
        while let rec = try r.next() { if case .entry(let e) = rec { back[e.key] = e.value } }
        #expect(back.count == Self.dataset().count)
    }

    @Test func theRedisFixturesConvertToTheSameBytes() throws {
        for name in ["redis70-lzf-crc.rdb", "redis70-nolzf-nocrc.rdb"] {
            let source = Array(try Data(contentsOf: URL(fileURLWithPath: Paths.fixture("rdb/" + name))))
            for version in RDBWriterOptions.supportedVersions {
                let whole: [UInt8]
                do { whole = try Self.convertWhole(source, version: version) } catch { continue } // needs --lossy
                #expect(try Self.convertStreaming(source, version: version).bytes == whole, "\(name) -> RDB \(version)")
            }
        }
    }

    @Test func bigValuesAreWrittenAsTheyArrive() throws {
        // A hash of 100,000 fields: the writer gets it field by field, so its output grows while the value
        // is still being decoded (a whole-value writer emits nothing before the last field).
        let big: RDBValue = .hash((0 ..< 100_000).map { RDBHashField(field: Self.b("f\($0)"), value: Self.b("v\($0)")) })
        let source = try Self.file(version: 10, [(Self.b("h"), big, nil)])
        var written = 0
        let w = try RDBWriter(options: RDBWriterOptions(version: 10)) { written += $0.count }
        try w.writeHeader()
        let r = try RDBReader(bytes: source)
        final class Spy: RDBElementVisitor {
            let inner: RDBWriterVisitor
            let written: () -> Int
            var seenMidValue = 0
            var fields = 0
            init(_ inner: RDBWriterVisitor, _ written: @escaping () -> Int) { self.inner = inner; self.written = written }
            func beginValue(_ header: RDBKeyHeader) throws { try inner.beginValue(header) }
            func hashField(_ field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {
                try inner.hashField(field, value: value, expiresAt: expiresAt)
                fields += 1
                if fields == 90_000 { seenMidValue = written() }
            }
            func endValue() throws { try inner.endValue() }
        }
        let spy = Spy(RDBWriterVisitor(writer: w)) { written }
        while let rec = try r.nextWalking({ _ in spy }) {
            if case .record(.end) = rec { try w.finish() }
        }
        #expect(spy.fields == 100_000)
        #expect(spy.seenMidValue > 500_000, "only \(spy.seenMidValue) bytes out after 90% of the fields")
    }
}
