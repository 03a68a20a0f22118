// The fuzz targets' entry points. tools/fuzz links this file (through a symbolic link) into one libFuzzer
// executable per target; FuzzRegressionTests replays every file under Fixtures/fuzz/<target>/ through the
// same functions in the normal suite. Each entry point feeds the bytes to a parser and lets it throw:
// any error is a valid outcome. A trap (overflow, out-of-range index, failed precondition), a sanitizer
// report, a hang or a huge allocation is a finding — as is a broken cross-check (fatalError below).
// Only public StorageFormat APIs are used, so the file compiles both in the test target and in tools/fuzz.
import StorageFormat

public enum FuzzEntry {
    /// Every target, by the name of its corpus / regression directory.
    public static let all: [(name: String, run: @Sendable ([UInt8]) -> Void)] = [
        ("rdb", rdb), ("dump", dump), ("resp", resp), ("aof", aof), ("manifest", manifest),
        ("listpack", listpack), ("ziplist", ziplist), ("intset", intset), ("zipmap", zipmap), ("lzf", lzf),
    ]

    // MARK: - RDB files

    /// A whole RDB file four ways: RDBReader.next() (values built by RDBValueBuilder), RDBReader.nextWalking
    /// (a visitor chosen per key), the RDBDecoder validation walk with the reader's policy, and with the
    /// checker's defaults. The first three must agree: the same records (or acceptance), or a FormatError
    /// at the same offset.
    public static func rdb(_ data: [UInt8]) {
        var options = RDBReader.Options()
        options.verifyChecksum = false
        var read: [RDBRecord] = []
        var readError: FormatError?
        do {
            let reader = try RDBReader(bytes: data, options: options)
            while let r = try reader.next() { read.append(r) }
        } catch let e as FormatError { readError = e } catch {}

        var walked: [RDBRecord] = []
        var walkError: FormatError?
        do {
            let reader = try RDBReader(bytes: data, options: options)
            let builder = RDBValueBuilder()
            while let r = try reader.nextWalking({ _ in builder }) {
                switch r {
                case .record(let rec): walked.append(rec)
                case .key:
                    if let e = builder.entry { walked.append(.entry(e)) }
                }
            }
        } catch let e as FormatError { walkError = e } catch {}

        switch (readError, walkError) {
        case (nil, nil):
            if read != walked && String(describing: read) != String(describing: walked) {
                fatalError("RDB: nextWalking decoded other records than next()")
            }
        case (let a?, let b?):
            if a.offset != b.offset {
                fatalError("RDB: next() failed at \(a.offset) (\(a)), nextWalking at \(b.offset) (\(b))")
            }
        default:
            fatalError("RDB: next() \(readError.map { "failed: \($0)" } ?? "succeeded"), nextWalking \(walkError.map { "failed: \($0)" } ?? "succeeded")")
        }

        // The checker (no visitor, the reader's policy) must agree with the reader: both accept, or both
        // refuse at the same offset.
        var policy = RDBDecoder.Options()
        policy.verifyChecksum = false
        policy.checkDuplicateKeys = false
        policy.strictTypeVersions = false
        var checkError: FormatError?
        do {
            let checker = try RDBDecoder(bytes: data, options: policy)
            checker.onWarning = { _ in }
            while try checker.next() != nil {}
        } catch let e as FormatError { checkError = e } catch {}
        if checkError?.offset != readError?.offset {
            fatalError("RDB: the checker \(checkError.map { "failed: \($0)" } ?? "succeeded"), the reader \(readError.map { "failed: \($0)" } ?? "succeeded")")
        }

        var scanOptions = RDBDecoder.Options()
        scanOptions.verifyChecksum = false
        do {
            let scanner = try RDBDecoder(bytes: data, options: scanOptions)
            scanner.onWarning = { _ in }
            var ended = false
            while let r = try scanner.next() {
                if case .end = r { ended = true }
            }
            if ended { _ = try scanner.duplicateKeyAfterEnd() }
        } catch {}
    }

    // MARK: - DUMP payloads

    /// A DUMP payload as RESTORE decodes it; the checksum is not checked (so mutations reach the decoder),
    /// then checked once (the footer path).
    public static func dump(_ data: [UInt8]) {
        _ = try? DumpPayload.decode(data, verifyChecksum: false)
        _ = try? DumpPayload.decode(data)
    }

    // MARK: - RESP requests

    /// A request stream cut at arbitrary points, parsed as a connection does (append a chunk, parse while
    /// whole commands are buffered, drop what they consumed). The first byte gives the number of cuts
    /// (0–7), the next two bytes per cut their positions. The commands and the final error must be those of
    /// the stream parsed in one piece.
    public static func resp(_ data: [UInt8]) {
        guard !data.isEmpty else { return }
        let cuts = Int(data[0] & 7)
        var p = 1
        var positions: [Int] = []
        for _ in 0 ..< cuts where p + 1 < data.count {
            positions.append(Int(data[p]) | Int(data[p + 1]) << 8)
            p += 2
        }
        let stream = Array(data[min(p, data.count)...])
        let whole = parseStream([stream])
        var chunks: [[UInt8]] = []
        var start = 0
        for cut in positions.map({ stream.isEmpty ? 0 : $0 % (stream.count + 1) }).sorted() where cut >= start {
            chunks.append(Array(stream[start ..< cut]))
            start = cut
        }
        chunks.append(Array(stream[start...]))
        let split = parseStream(chunks)
        if whole != split {
            fatalError("RESP: the stream parsed whole gave \(whole), cut at \(positions) gave \(split)")
        }
    }

    /// The commands parsed from `chunks` arriving one after another, and the protocol error that stopped it.
    static func parseStream(_ chunks: [[UInt8]]) -> [String] {
        var out: [String] = []
        var buffer: [UInt8] = []
        for chunk in chunks {
            buffer += chunk
            var consumedTotal = 0
            parsing: while true {
                let result = buffer.withUnsafeBytes { raw in
                    RESPRequestParser.parse(UnsafeRawBufferPointer(rebasing: raw[consumedTotal...]))
                }
                switch result {
                case .command(let args, let consumed):
                    precondition(consumed > 0 && consumed <= buffer.count - consumedTotal, "RESP: bad consumed count \(consumed)")
                    out.append(args.map { ByteText.hex($0) }.joined(separator: " "))
                    consumedTotal += consumed
                case .skip(let consumed):
                    precondition(consumed > 0 && consumed <= buffer.count - consumedTotal, "RESP: bad consumed count \(consumed)")
                    consumedTotal += consumed
                case .incomplete:
                    break parsing
                case .protocolError(let message):
                    out.append("ERR " + message)
                    return out
                }
            }
            buffer.removeFirst(consumedTotal)
        }
        return out
    }

    // MARK: - AOF

    /// An AOF file as the loader reads it: an RDB preamble when it starts with "REDIS", then commands
    /// and annotations to the end.
    public static func aof(_ data: [UInt8]) {
        let reader = AOFReader(bytes: data)
        if reader.hasRDBPreamble {
            var options = RDBReader.Options()
            options.verifyChecksum = false
            do {
                let rdb = try RDBReader(bytes: data, options: options)
                while let r = try rdb.next() { if case .end = r { break } }
                try reader.seek(to: rdb.offset)
            } catch { return }
        }
        do {
            while let r = try reader.next() {
                if case .command(let args, let start, let end) = r {
                    precondition(start >= 0 && start < end && end <= data.count && !args.isEmpty, "AOF: command at \(start)..<\(end)")
                }
            }
        } catch {
            precondition(reader.validUpTo <= data.count, "AOF: validUpTo \(reader.validUpTo) past the end")
        }
    }

    // MARK: - Manifest

    /// An AOF manifest; a parsed non-empty one must encode and parse back to itself.
    public static func manifest(_ data: [UInt8]) {
        guard let m = try? AOFManifest.parse(data), m != AOFManifest() else { return }
        let encoded = m.encoded()
        // A name written with many \xhh escapes can make a line longer than the 1024 bytes a reader
        // takes (as in Redis); such a manifest cannot read back, by design.
        if (encoded.split(separator: 10).map(\.count).max() ?? 0) >= AOFManifestLineLimit { return }
        let again = try? AOFManifest.parse(encoded)
        if again != m { fatalError("manifest: \(m) does not survive encode/parse (\(String(describing: again)))") }
    }

    /// Redis 7.0's line limit for manifests (with the newline).
    static let AOFManifestLineLimit = 1023

    // MARK: - Compact encodings

    public static func listpack(_ data: [UInt8]) {
        _ = try? data.withUnsafeBytes { raw in try Listpack.forEach(raw) { _ in } }
    }

    public static func ziplist(_ data: [UInt8]) {
        _ = try? data.withUnsafeBytes { raw in try Ziplist.forEach(raw) { _ in } }
    }

    public static func intset(_ data: [UInt8]) {
        _ = try? data.withUnsafeBytes { raw in try Intset.forEach(raw) { _ in } }
    }

    public static func zipmap(_ data: [UInt8]) {
        _ = try? data.withUnsafeBytes { raw in try Zipmap.forEach(raw) { _, _ in } }
    }

    /// LZF: the first three bytes give the expected decompressed length (little-endian, below 16 MiB).
    public static func lzf(_ data: [UInt8]) {
        guard data.count >= 3 else { return }
        let length = Int(data[0]) | Int(data[1]) << 8 | Int(data[2]) << 16
        let input = Array(data[3...])
        guard let out = try? input.withUnsafeBytes({ try LZF.decompress($0, originalLength: length) }) else { return }
        precondition(out.count == length, "LZF: \(out.count) bytes, expected \(length)")
    }
}
