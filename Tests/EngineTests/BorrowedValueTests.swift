// BorrowedValue reads stored values by their bytes (for the snapshot child, without reference
// counting): its learned layout must agree with Swift's own pattern matching on every kind and size.
import Testing
@testable import Engine

@Suite struct BorrowedValueTests {
    @Test func layoutIsLearned() throws {
        let layout = try #require(BorrowedValue.layout)
        #expect(layout.elementsOffset > layout.countOffset)
    }

    @Test func everyKindAndStringSizeReadsBackAsSwiftSeesIt() throws {
        let layout = try #require(BorrowedValue.layout)
        var values: [RedisValue] = [.list(ListValue()), .hash(HashValue()), .set(SetValue()), .zset(ZSetValue()), .stream(StreamValue())]
        for v: Int64 in [0, 1, -1, 9999, 10000, Int64.max, Int64.min, 0x0F0F_0F0F_0F0F_0F0F] { values.append(.string(.int(v))) }
        for n in [0, 1, 7, 8, 13, 14, 15, 16, 31, 32, 33, 44, 45, 100, 4096, 100_000] {
            let bytes = (0 ..< n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ n) }
            values.append(.string(.bytes(ByteString(bytes))))
            values.append(.string(.raw(ByteString(bytes))))
            // High bytes everywhere, the length nibble's neighbours included.
            values.append(.string(.bytes(ByteString([UInt8](repeating: 0xFF, count: n)))))
        }
        for value in values {
            var v = value
            try withUnsafePointer(to: &v) { p in
                let kind = try #require(BorrowedValue.kind(p, layout))
                switch value {
                case .string(.int(let i)):
                    #expect(kind == .int)
                    #expect(BorrowedValue.integer(p) == i)
                case .string(.bytes(let b)), .string(.raw(let b)):
                    #expect(kind == (b.count <= 14 ? .smallString : .largeString))
                    let read = BorrowedValue.withStringBytes(p, kind, layout) { Array($0) }
                    #expect(read == b.bytes, "string of \(b.count) bytes")
                case .list: #expect(kind == .list)
                case .hash: #expect(kind == .hash)
                case .set: #expect(kind == .set)
                case .zset: #expect(kind == .zset)
                case .stream: #expect(kind == .stream)
                }
            }
        }
    }
}
