// RDBResync: finds where readable records start again after a corrupt region, for salvaging.
// Every offset after the damage is tried as the start of a record: it is accepted when a scanner started
// there reads sixteen complete, valid records in a row, or reaches the end of the file (a key with a non-empty name first, or a
// SELECTDB, or the EOF opcode with its checksum ending exactly at the end of the file). Trials read a
// caller's window of the file in place, so each costs only the bytes it parses.

public enum RDBResync {
    /// The verdict on one candidate offset.
    public enum Trial: Equatable {
        /// Records parse from `start` (the candidate, or the record after it when the candidate's own
        /// record looks like debris: a key of binary bytes followed by a key of text).
        case plausible(records: Int, start: Int)
        /// Not a record boundary.
        case rejected
        /// Parsing ran past the end of the window before it could decide: retry with a window that starts here.
        case needsMoreData
    }

    /// Records a candidate must read in a row (fewer when the file ends first, or when the window ends
    /// after at least `recordsAtWindowEnd` of them). Random bytes (compressed data, say) can pass for
    /// two or three short records; sixteen in a row, ending on record boundaries, they do not.
    public static let recordsNeeded = 16
    public static let recordsAtWindowEnd = 4

    /// Tries `offset` (inside `window`, whose first byte is at absolute `windowOffset`) as a record start.
    /// `db` is the database in effect there.
    public static func trial(window: UnsafeMutableRawBufferPointer, windowOffset: Int, at offset: Int, fileSize: Int,
                             dialect: RDBDialect, db: Int) -> Trial {
        let rel = offset - windowOffset
        guard rel >= 0, rel < window.count else { return .needsMoreData }
        // Cheap filter: the byte must be an opcode or a type code of this dialect.
        let first = window[rel]
        switch first {
        case RDBOpcode.eof, RDBOpcode.selectDB, RDBOpcode.expireTimeMS, RDBOpcode.expireTime, RDBOpcode.aux,
             RDBOpcode.resizeDB, RDBOpcode.idle, RDBOpcode.freq, RDBOpcode.function2, RDBOpcode.moduleAux:
            break
        default:
            guard let v = RDBType.firstVersion(first, in: dialect), v <= dialect.version, first != RDBType.modulePreGA else { return .rejected }
        }
        let input = RDBInput(window: UnsafeMutableRawBufferPointer(rebasing: window[rel...]), startOffset: offset, fileSize: fileSize)
        var options = RDBDecoder.Options()
        options.verifyChecksum = false
        options.checkDuplicateKeys = false
        options.fingerprintBudget = 1 << 16
        guard let scanner = try? RDBDecoder(input: input, dialect: dialect, options: options) else { return .rejected }
        var records = 0
        var start = offset
        var firstIsBinaryKey = false
        do {
            while records < recordsNeeded {
                guard let rec = try scanner.next() else { break }
                switch rec {
                case .key(let s), .emptyKey(let s):
                    if records == 0 && s.key.count == 0 { return .rejected }
                    if records == 0 { firstIsBinaryKey = !looksLikeText(s.key) }
                    if records == 1 && firstIsBinaryKey && looksLikeText(s.key) { start = s.offset }
                case .selectDB(let n):
                    if n > 1 << 20 { return .rejected }
                case .end:
                    // EOF is only believable where the file ends (after its checksum, from v5).
                    return scanner.offset == fileSize ? .plausible(records: records + 1, start: start) : .rejected
                case .aux, .resizeDB, .slotInfo, .moduleAux, .function:
                    break
                }
                records += 1
            }
        } catch {
            if input.windowExhausted { return records >= recordsAtWindowEnd ? .plausible(records: records, start: start) : .needsMoreData }
            return .rejected
        }
        return .plausible(records: records, start: start)
    }

    /// Mostly printable ASCII (keys usually are; compressed or binary debris is not).
    static func looksLikeText(_ b: UnsafeRawBufferPointer) -> Bool {
        if b.count == 0 { return false }
        var printable = 0
        for c in b where c >= 0x20 && c < 0x7F { printable += 1 }
        return printable * 10 >= b.count * 9
    }
}
