// RDBResync: finds where readable records start again after a corrupt region, for salvaging.
// Every offset after the damage is tried as the start of a record: it is accepted when a scanner started
// there reads several complete, valid records in a row (a key with a non-empty name first, or a
// SELECTDB, or the EOF opcode with its checksum ending exactly at the end of the file). Trials read a
// caller's window of the file in place, so each costs only the bytes it parses.

public enum RDBResync {
    /// The verdict on one candidate offset.
    public enum Trial: Equatable {
        /// Records parse from here.
        case plausible(records: Int)
        /// Not a record boundary.
        case rejected
        /// Parsing ran past the end of the window before it could decide: retry with a window that starts here.
        case needsMoreData
    }

    /// Records a candidate must read in a row (fewer when the file ends first).
    public static let recordsNeeded = 3

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
        var options = RDBScanner.Options()
        options.verifyChecksum = false
        options.checkDuplicateKeys = false
        options.fingerprintBudget = 1 << 16
        guard let scanner = try? RDBScanner(input: input, dialect: dialect, options: options) else { return .rejected }
        var records = 0
        do {
            while records < recordsNeeded {
                guard let rec = try scanner.next() else { break }
                switch rec {
                case .key(let s), .emptyKey(let s):
                    if records == 0 && s.key.count == 0 { return .rejected }
                case .selectDB(let n):
                    if n > 1 << 20 { return .rejected }
                case .end:
                    // EOF is only believable where the file ends (after its checksum, from v5).
                    return scanner.offset == fileSize ? .plausible(records: records + 1) : .rejected
                case .aux, .resizeDB, .slotInfo, .moduleAux, .function:
                    break
                }
                records += 1
            }
        } catch {
            if input.windowExhausted { return records >= 2 ? .plausible(records: records) : .needsMoreData }
            return .rejected
        }
        return .plausible(records: records)
    }
}
