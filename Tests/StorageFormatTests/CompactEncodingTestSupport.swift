// Helpers shared by the listpack, ziplist, intset and zipmap tests (hex literals are TestSupport's hexBytes): a seeded random generator,
// exact-size buffers (so a sanitizer sees any read past the blob) and the byte-mutation sweep.

import Testing
@testable import StorageFormat
import TestSupport

/// Bytes of an ASCII string.
func encText(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Runs `body` over a copy of `bytes` in an allocation of exactly that size.
func encWithExactBuffer<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    let mem = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
    defer { mem.deallocate() }
    bytes.withUnsafeBytes { src in
        if src.count > 0 { mem.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: src.count) }
    }
    return try body(UnsafeRawBufferPointer(start: mem.baseAddress, count: bytes.count))
}

/// Whether `span` lies inside `blob`.
func encSpan(_ span: UnsafeRawBufferPointer, isInside blob: UnsafeRawBufferPointer) -> Bool {
    if span.count == 0 { return true }
    guard let b = blob.baseAddress, let s = span.baseAddress else { return false }
    return s >= b && s + span.count <= b + blob.count
}

/// The outcome of decoding one mutated blob.
enum EncOutcome { case decoded, formatError }

/// Feeds `decode` many damaged versions of `valid`: every byte replaced by several values, every
/// truncation, byte insertions and deletions, appended bytes, and `randomRounds` random multi-byte edits.
/// When `fixup` is given, each damaged blob is also tried after `fixup` repairs its header (so the damage
/// reaches the entry walker). Any error other than FormatError is recorded as a failure; a crash fails the run.
/// Returns how many blobs decoded and how many threw.
@discardableResult
func encMutationSweep(_ valid: [UInt8], randomRounds: Int = 2000, seed: UInt64 = 1,
                      fixup: ((inout [UInt8]) -> Void)? = nil,
                      decode: (UnsafeRawBufferPointer) throws -> Void) -> (decoded: Int, rejected: Int) {
    var decoded = 0, rejected = 0
    func attempt(_ blob: [UInt8]) {
        func one(_ b: [UInt8]) {
            do {
                try encWithExactBuffer(b) { try decode($0) }
                decoded += 1
            } catch is FormatError {
                rejected += 1
            } catch {
                Issue.record("non-FormatError \(error) for \(ByteText.hex(b))")
            }
        }
        one(blob)
        if let fixup {
            var fixed = blob
            fixup(&fixed)
            if fixed != blob { one(fixed) }
        }
    }
    let replacements: [UInt8] = [0x00, 0x01, 0x3F, 0x40, 0x7F, 0x80, 0xBF, 0xC0, 0xDF, 0xE0, 0xEF,
                                 0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xFD, 0xFE, 0xFF]
    for i in 0 ..< valid.count {
        var seen = Set<UInt8>()
        for r in replacements + [valid[i] ^ 0x01, valid[i] ^ 0x80, ~valid[i]] where r != valid[i] {
            if !seen.insert(r).inserted { continue }
            var m = valid
            m[i] = r
            attempt(m)
        }
        // delete byte i, insert a byte before i
        var d = valid
        d.remove(at: i)
        attempt(d)
        for ins: UInt8 in [0x00, 0xFF, 0x81] {
            var m = valid
            m.insert(ins, at: i)
            attempt(m)
        }
    }
    for n in 0 ..< valid.count { attempt(Array(valid[..<n])) }
    for tail: [UInt8] in [[0x00], [0xFF], [0x01, 0xFF], [0x81, 0x61, 0x02, 0xFF], [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]] {
        attempt(valid + tail)
    }
    var rng = TestRNG(seed: seed)
    for _ in 0 ..< randomRounds where !valid.isEmpty {
        var m = valid
        let edits = Int.random(in: 1 ... 4, using: &rng)
        for _ in 0 ..< edits {
            let i = Int.random(in: 0 ..< m.count, using: &rng)
            m[i] = UInt8.random(in: 0 ... 255, using: &rng)
        }
        if Bool.random(using: &rng) {
            m = Array(m[..<Int.random(in: 0 ... m.count, using: &rng)])
        }
        attempt(m)
    }
    return (decoded, rejected)
}
