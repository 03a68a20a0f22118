// Every input the fuzzers of tools/fuzz ever failed on (Fixtures/fuzz/<target>/), and their seed corpora
// (tools/fuzz/corpus/<target>/), replayed through the same entry points (FuzzEntryPoints.swift) in the
// normal suite: each must throw or succeed, never trap. A regression crashes the test process. The
// findings with a defined outcome are also checked for that outcome.
import Foundation
import Testing
@testable import StorageFormat
import TestSupport

enum FuzzFixtures {
    /// The files of a directory under the repository root (sorted), with their names.
    static func files(_ dir: String) -> [(name: String, bytes: [UInt8])] {
        let url = Paths.root.appendingPathComponent(dir)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: url.appendingPathComponent(name).path) else { return nil }
            return (name, Array(data))
        }
    }
}

@Suite struct FuzzRegressionTests {
    @Test(arguments: FuzzEntry.all.map(\.name))
    func findingsAndSeedsReplayWithoutTrapping(target: String) throws {
        let run = try #require(FuzzEntry.all.first { $0.name == target }).run
        let findings = FuzzFixtures.files("Fixtures/fuzz/" + target)
        let seeds = FuzzFixtures.files("tools/fuzz/corpus/" + target)
        #expect(!seeds.isEmpty, "no seed corpus for \(target)")
        for (_, bytes) in findings + seeds { run(bytes) }
    }

    @Test func everyFindingDirectoryIsATarget() {
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: Paths.fixture("fuzz"))) ?? []
        #expect(!dirs.isEmpty)
        for d in dirs { #expect(FuzzEntry.all.contains { $0.name == d }, "Fixtures/fuzz/\(d) is replayed by no target") }
    }

    /// A 19-digit length above Int.max overflowed the decimal parser (a trap); it is an invalid length.
    @Test func requestLengthsBeyondIntMaxAreInvalid() {
        func parse(_ s: String) -> RESPParseResult { Array(s.utf8).withUnsafeBytes { RESPRequestParser.parse($0) } }
        guard case .protocolError(let m) = parse("*1\r\n$9499999999999999999\r\n") else { Issue.record("accepted"); return }
        #expect(m == "Protocol error: invalid bulk length")
        guard case .protocolError(let m2) = parse("*9999999999999999999\r\n") else { Issue.record("accepted"); return }
        #expect(m2 == "Protocol error: invalid multibulk length")
        guard case .protocolError = parse("*1\r\n$-9999999999999999999\r\n") else { Issue.record("accepted"); return }
        // The largest value that fits is still just a number (refused by the limits, not trapped on).
        guard case .protocolError = parse("*1\r\n$9223372036854775807\r\n") else { Issue.record("accepted"); return }
        guard case .command(let args, _) = parse("*1\r\n$0000000000000000003\r\nGET\r\n") else { Issue.record("refused"); return }
        #expect(args == [Array("GET".utf8)])
    }

    /// An AUX value stored as LZF with 6 compressed bytes claiming a 340 MiB original: the scanner allocated
    /// 512 MiB of scratch before decompressing; it now refuses the length first (a FormatError at the data).
    @Test func scannerRefusesImpossibleLZFLengthsBeforeAllocating() throws {
        let bytes = try #require(FuzzFixtures.files("Fixtures/fuzz/rdb").first { $0.name == "scanner-lzf-huge-original-length" }).bytes
        var options = RDBDecoder.Options()
        options.verifyChecksum = false
        do {
            let scanner = try RDBDecoder(bytes: bytes, options: options)
            while try scanner.next() != nil {}
            Issue.record("accepted")
        } catch let e as FormatError {
            #expect(e.context == "LZF" && e.offset == 17 && e.found == "\(0x1545_4449)", "\(e)")
        }
    }

    /// A scanner over bytes without the RDB magic throws a FormatError at offset 0 (it used to leak its
    /// buffers on that path; the sanitizer build of tools/fuzz reports leaks).
    @Test func scannerRefusesBadMagicAtOffsetZero() throws {
        let bytes = try #require(FuzzFixtures.files("Fixtures/fuzz/rdb").first { $0.name == "scanner-leak-bad-magic" }).bytes
        #expect(throws: FormatError.self) { try RDBDecoder(bytes: bytes) }
        do { _ = try RDBDecoder(bytes: bytes) } catch let e as FormatError { #expect(e.offset == 0) }
    }

    /// A hash-with-metadata value (type 24) whose stored minimum expiry is Int64.min: subtracting 1 from
    /// it trapped on overflow in the reader, the element walk and the scanner alike. The field expiry is
    /// now computed with overflow checks in one place and such a value is a FormatError.
    @Test func hashFieldExpiryArithmeticCannotOverflow() throws {
        func payload(minExpire: Int64, ttl: UInt8) -> [UInt8] {
            var p: [UInt8] = [RDBType.hashMetadata]
            withUnsafeBytes(of: minExpire.littleEndian) { p += $0 }
            p += [1, ttl, 1, UInt8(ascii: "f"), 1, UInt8(ascii: "v")]
            return p + [12, 0] + [UInt8](repeating: 0, count: 8)
        }
        do {
            _ = try DumpPayload.decode(payload(minExpire: .min, ttl: 1), verifyChecksum: false)
            Issue.record("a minimum expiry of Int64.min was accepted")
        } catch let e as DumpPayload.Rejection {
            #expect("\(e.cause.map { "\($0)" } ?? "")".contains("field expiry"), "\(e)")
        }
        // Well-formed: the stored TTL is expiry - minimum + 1.
        let (_, value) = try DumpPayload.decode(payload(minExpire: 1_000, ttl: 5), verifyChecksum: false)
        #expect(value == .hash([RDBHashField(field: [UInt8(ascii: "f")], value: [UInt8(ascii: "v")], expiresAt: 1_004)]))
        #expect(RDBType.hashFieldExpiry(1, minExpire: .min, preGA: false) == nil)
        #expect(RDBType.hashFieldExpiry(UInt64.max, minExpire: 0, preGA: true) == nil)
        #expect(RDBType.hashFieldExpiry(3, minExpire: .max, preGA: false) == nil)
        // The fuzzer's own input, through every reader the entry points drive.
        let finding = try #require(FuzzFixtures.files("Fixtures/fuzz/dump").first { $0.name == "hash-metadata-minimum-expiry-overflow" }).bytes
        FuzzEntry.dump(finding)
        FuzzEntry.rdb([UInt8]("REDIS0012".utf8) + [0xFE, 0, 0xFB, 1, 0, 24] + [1, UInt8(ascii: "k")]
                      + payload(minExpire: .min, ttl: 1).dropFirst().dropLast(10) + [0xFF] + [UInt8](repeating: 0, count: 8))
    }
}
