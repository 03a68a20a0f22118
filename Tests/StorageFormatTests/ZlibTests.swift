import Foundation
import Testing
@testable import StorageFormat

@Suite struct ZlibTests {
    static func sample(_ n: Int) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        let words = ["alpha ", "beta ", "gamma ", "delta ", "\u{0}\u{1}", "ε "].map { Array($0.utf8) }
        var out: [UInt8] = []
        while out.count < n {
            out += words[Int.random(in: 0..<words.count, using: &rng)]
            if Int.random(in: 0..<10, using: &rng) == 0 { out.append(UInt8.random(in: 0...255, using: &rng)) }
        }
        return Array(out.prefix(n))
    }

    /// Feeds `bytes` to an inflater in chunks of random sizes up to `maxChunk`.
    static func inflateInChunks(_ bytes: [UInt8], maxChunk: Int, format: ZlibFormat = .auto) throws -> ([UInt8], Bool) {
        var rng = SystemRandomNumberGenerator()
        let inflater = try ZlibInflater(format: format)
        var out: [UInt8] = []
        var i = 0
        try bytes.withUnsafeBytes { all in
            while i < all.count {
                let n = min(all.count - i, Int.random(in: 0...maxChunk, using: &rng))
                try inflater.inflate(UnsafeRawBufferPointer(rebasing: all[i..<(i + n)]), into: &out)
                i += n
            }
        }
        return (out, inflater.isFinished)
    }

    /// Compresses `bytes` fed in chunks of random sizes up to `maxChunk`.
    static func deflateInChunks(_ bytes: [UInt8], maxChunk: Int, format: ZlibFormat) throws -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        let deflater = try ZlibDeflater(format: format, level: 6)
        var out: [UInt8] = []
        var i = 0
        try bytes.withUnsafeBytes { all in
            while i < all.count {
                let n = min(all.count - i, Int.random(in: 0...maxChunk, using: &rng))
                try deflater.deflate(UnsafeRawBufferPointer(rebasing: all[i..<(i + n)]), finish: false, into: &out)
                i += n
            }
            try deflater.deflate(UnsafeRawBufferPointer(start: nil, count: 0), finish: true, into: &out)
        }
        return out
    }

    @Test func wholeBufferRoundTrips() throws {
        for size in [0, 1, 100, 70_000, 1_000_000] {
            let data = Self.sample(size)
            for format in [ZlibFormat.gzip, .zlib] {
                let c = try Gzip.compress(data, format: format)
                #expect(c.withUnsafeBytes { Gzip.isGzip($0) } == (format == .gzip))
                #expect(try Gzip.decompress(c) == data)
            }
            let raw = try Gzip.compress(data, format: .raw)
            #expect(try Self.inflateInChunks(raw, maxChunk: 1 << 20, format: .raw) == (data, true))
        }
    }

    @Test func gzipRoundTripAcrossManySmallChunks() throws {
        let data = Self.sample(300_000)
        for format in [ZlibFormat.gzip, .zlib, .raw] {
            let c = try Self.deflateInChunks(data, maxChunk: 97, format: format)
            let (out, finished) = try Self.inflateInChunks(c, maxChunk: 13, format: format == .raw ? .raw : .auto)
            #expect(finished)
            #expect(out == data)
        }
    }

    @Test func highlyCompressibleDataSpillsPastTheOutputStep() throws {
        // 8 MiB of zeros compresses to a few KiB: one input chunk must produce many 64 KiB steps.
        let data = [UInt8](repeating: 0, count: 8 << 20)
        let c = try Gzip.compress(data)
        #expect(c.count < 64 << 10)
        #expect(try Gzip.decompress(c) == data)
    }

    @Test func concatenatedGzipMembers() throws {
        let a = Self.sample(5000), b = Self.sample(7000)
        let joined = try Gzip.compress(a) + Gzip.compress(b)
        #expect(try Gzip.decompress(joined) == a + b)
        let (out, finished) = try Self.inflateInChunks(joined, maxChunk: 11, format: .gzip)
        #expect(finished && out == a + b)
        // Stopping inside the second member leaves the stream unfinished.
        let cut = Array(joined.dropLast(5))
        #expect(throws: FormatError.self) { try Gzip.decompress(cut) }
    }

    @Test func corruptGzipThrows() throws {
        let data = Self.sample(50_000)
        let good = try Gzip.compress(data)
        // Bad magic / header.
        var bad = good
        bad[2] = 0x07
        #expect(throws: FormatError.self) { try Gzip.decompress(bad) }
        // Damaged CRC32 trailer.
        bad = good
        bad[bad.count - 6] ^= 0xff
        #expect(throws: FormatError.self) { try Gzip.decompress(bad) }
        // Truncated.
        #expect(throws: FormatError.self) { try Gzip.decompress(Array(good.dropLast(100))) }
        #expect(throws: FormatError.self) { try Gzip.decompress([]) }
        // Garbage after the stream.
        #expect(throws: FormatError.self) { try Gzip.decompress(good + [0x00, 0x01, 0x02]) }
        #expect(throws: FormatError.self) { try Gzip.decompress(Gzip.compress(data, format: .zlib) + [0x78]) }
        // Not compressed at all.
        #expect(throws: FormatError.self) { try Gzip.decompress(Array("plain text, no header".utf8)) }
    }

    @Test func corruptionReportsTheOffset() throws {
        let good = try Gzip.compress(Self.sample(50_000))
        var bad = good
        for i in 20..<60 { bad[i] = 0xff }
        do {
            _ = try Gzip.decompress(bad)
            Issue.record("expected an error")
        } catch let error as FormatError {
            #expect(error.context == "zlib")
            #expect(error.offset >= 10 && error.offset <= good.count)
        }
    }

    @Test func randomCorruptionNeverCrashes() throws {
        var rng = SystemRandomNumberGenerator()
        let data = Self.sample(4000)
        let good = try Gzip.compress(data)
        for _ in 0..<500 {
            var bad = good
            bad[Int.random(in: 0..<bad.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            if let out = try? Gzip.decompress(bad) {
                // Only a flip in an ignored header field (e.g. mtime, OS) can leave it valid.
                #expect(out == data)
            }
        }
    }

    @Test func deflaterRefusesAuto() {
        #expect(throws: FormatError.self) { try ZlibDeflater(format: .auto) }
        #expect(throws: FormatError.self) { try ZlibDeflater(format: .gzip, level: 42) }
    }

    @Test func decompressesOutputOfTheGzipCommand() throws {
        let data = Self.sample(200_000)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-zlib-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("data.bin")
        try Data(data).write(to: file)

        func gzip(_ arguments: [String]) throws -> [UInt8] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["gzip"] + arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let out = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            return [UInt8](out)
        }

        let single = try gzip(["-c", "-9", file.path])
        #expect(single.withUnsafeBytes { Gzip.isGzip($0) })
        #expect(try Gzip.decompress(single) == data)
        #expect(try Self.inflateInChunks(single, maxChunk: 1000, format: .gzip) == (data, true))
        // Two members, as `gzip -c a > x; gzip -c b >> x` writes.
        let fast = try gzip(["-c", "-1", "-n", file.path])
        #expect(try Gzip.decompress(single + fast) == data + data)

        // And the gzip command reads ours.
        let ours = dir.appendingPathComponent("ours.gz")
        try Data(Gzip.compress(data)).write(to: ours)
        #expect(try gzip(["-d", "-c", ours.path]) == data)
    }
}
