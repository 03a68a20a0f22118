import Testing
@testable import StorageFormat

@Suite struct StrictIntegerTests {
    @Test func acceptsCanonicalIntegers() {
        #expect(StrictInteger.parse(Array("0".utf8)) == 0)
        #expect(StrictInteger.parse(Array("-1".utf8)) == -1)
        #expect(StrictInteger.parse(Array("9223372036854775807".utf8)) == Int64.max)
        #expect(StrictInteger.parse(Array("-9223372036854775808".utf8)) == Int64.min)
    }

    @Test func refusesNonCanonicalText() {
        for s in ["", "-0", "01", "+1", " 1", "1 ", "9223372036854775808", "-9223372036854775809", "1a", "-"] {
            #expect(StrictInteger.parse(Array(s.utf8)) == nil, "\(s)")
        }
    }

    @Test func formatsRoundTrip() {
        for v: Int64 in [0, 7, -7, 10, 12345, Int64.max, Int64.min] {
            #expect(StrictInteger.format(v) == Array(String(v).utf8))
        }
    }
}
