// StreamNodeCheck: validates one stream node's listpack element by element (FORMATS.md §6.6), without
// building its entries: the master entry (count, deleted, field count, fields, 0), then count + deleted
// entries, each flags, ms delta, seq delta, then the values (SAMEFIELDS) or a field count and field/value
// pairs, then lp_count, which must equal the number of elements before it in the entry. Nothing may follow
// the last entry. Numbers may be listpack integers or strings that spell an integer (Redis reads both).

/// What a stream node holds, for statistics.
struct StreamNodeFacts {
    var live: Int64 = 0
    var deleted: Int64 = 0
    var elements = 0
    var largestElement = 0
    var bytes = 0
}

enum StreamNodeCheck {
    enum State {
        case count, deleted, masterFieldCount, masterFields, masterZero
        case flags, msDelta, seqDelta, fieldCount, pairs, values, lpCount, done
    }

    /// Walks `blob` (a node listpack at `baseOffset`); throws a FormatError naming the element.
    static func check(_ blob: UnsafeRawBufferPointer, baseOffset: Int) throws -> StreamNodeFacts {
        var facts = StreamNodeFacts()
        var state = State.count
        var masterFields: Int64 = 0
        var left: Int64 = 0          // elements left in the current run (fields, pairs, values)
        var entriesLeft: Int64 = 0
        var expectedLPCount: Int64 = 0
        var index = 0
        var problem: (String, String)? = nil
        var afterDeltas = State.fieldCount

        @inline(__always) func integer(_ e: CompactElement) -> Int64? {
            switch e {
            case .int(let v): return v
            case .bytes(let b): return StrictInteger.parse(b)
            }
        }

        let n = try Listpack.forEach(blob, baseOffset: baseOffset) { e in
            defer { index += 1 }
            if problem != nil { return }
            switch e {
            case .int(let v): facts.largestElement = max(facts.largestElement, decimalLength(v))
            case .bytes(let b): facts.largestElement = max(facts.largestElement, b.count)
            }
            func needInt(_ what: String) -> Int64? {
                guard let v = integer(e) else { problem = ("an integer for \(what)", "element \(index) is not a number"); return nil }
                return v
            }
            switch state {
            case .count:
                guard let v = needInt("the master entry count") else { return }
                facts.live = v
                state = .deleted
            case .deleted:
                guard let v = needInt("the master entry deleted count") else { return }
                facts.deleted = v
                state = .masterFieldCount
            case .masterFieldCount:
                guard let v = needInt("the master field count") else { return }
                guard v >= 0 else { problem = ("a master field count >= 0", "\(v)"); return }
                masterFields = v
                left = v
                state = v > 0 ? .masterFields : .masterZero
            case .masterFields:
                left -= 1
                if left == 0 { state = .masterZero }
            case .masterZero:
                guard let v = needInt("the master entry terminator") else { return }
                guard v == 0 else { problem = ("the master entry terminator 0", "\(v)"); return }
                entriesLeft = facts.live &+ facts.deleted
                state = entriesLeft > 0 ? .flags : .done
            case .flags:
                guard let v = needInt("entry flags") else { return }
                if v & 2 != 0 {
                    // SAMEFIELDS: the values of the master fields follow the deltas.
                    left = masterFields
                    expectedLPCount = 3 + masterFields
                    afterDeltas = masterFields > 0 ? .values : .lpCount
                } else {
                    afterDeltas = .fieldCount
                }
                state = .msDelta
            case .msDelta:
                guard needInt("the entry ms delta") != nil else { return }
                state = .seqDelta
            case .seqDelta:
                guard needInt("the entry seq delta") != nil else { return }
                state = afterDeltas
            case .fieldCount:
                guard let v = needInt("the entry field count") else { return }
                guard v >= 0, v < Int64(Int32.max) else { problem = ("an entry field count >= 0", "\(v)"); return }
                left = v * 2
                expectedLPCount = 4 + v * 2
                state = left > 0 ? .pairs : .lpCount
            case .pairs, .values:
                left -= 1
                if left == 0 { state = .lpCount }
            case .lpCount:
                guard let v = needInt("the entry lp-count") else { return }
                guard v == expectedLPCount else { problem = ("lp-count \(expectedLPCount)", "\(v)"); return }
                entriesLeft -= 1
                state = entriesLeft > 0 ? .flags : .done
            case .done:
                problem = ("no element after the node's \(facts.live &+ facts.deleted) entries", "element \(index)")
            }
        }
        facts.elements = n
        facts.bytes = blob.count
        if let (expected, found) = problem {
            throw FormatError(offset: baseOffset, context: "stream listpack", expected: expected, found: found)
        }
        if n == 0 {
            throw FormatError(offset: baseOffset, context: "stream listpack", expected: "a non-empty stream listpack", found: "an empty listpack")
        }
        if state != .done {
            throw FormatError(offset: baseOffset, context: "stream listpack", expected: "\(facts.live &+ facts.deleted) complete entries",
                              found: "the listpack ends after \(n) elements")
        }
        return facts
    }
}

/// Digits (and sign) of `v` in decimal: the length Redis gives an integer element as a string.
@inline(__always)
func decimalLength(_ v: Int64) -> Int {
    var m = v.magnitude
    var n = v < 0 ? 2 : 1
    while m >= 10 { m /= 10; n += 1 }
    return n
}
