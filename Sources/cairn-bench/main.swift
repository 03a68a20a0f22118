// cairn-bench: throughput of the StorageFormat codecs in a release build.
//   cairn-bench crc64 [MiB]   CRC64 over a buffer of MiB mebibytes (default 256), best of 5
//   cairn-bench lzf [MiB]     LZF compress and decompress of MiB mebibytes of text-like data (default 64)
//   cairn-bench rdb-read FILE         read every record of an RDB file; prints keys and seconds
//   cairn-bench rdb-write FILE OUT    load FILE into memory, then time writing it to OUT (fsync included)
//   cairn-bench aof-encode [N]        encode N million SET/LPUSH/HSET commands as AOF records, best of 5
// Timing uses clock_gettime(CLOCK_MONOTONIC); no Foundation.

import Glibc
import StorageFormat

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func fail(_ message: String) -> Never {
    let text = Array("cairn-bench: \(message)\nusage: cairn-bench crc64|lzf [MiB]\n".utf8)
    _ = text.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(2)
}

/// xorshift64*, for reproducible data without Foundation.
struct XorShift {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_f491_4f6c_dd1d
    }
}

func gbPerSecond(_ bytes: Int, _ seconds: Double) -> String {
    let v = Double(bytes) / seconds / 1e9
    let hundredths = Int((v * 100).rounded())
    let frac = hundredths % 100
    return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac) GB/s"
}

let args = CommandLine.arguments
guard args.count >= 2, args.count <= 4 else { fail("expected a benchmark name") }
var mebibytes: Int? = nil
if args.count == 3, args[1] != "rdb-read" {
    guard let m = Int(args[2]), m > 0 else { fail("MiB must be a positive integer, not \(args[2])") }
    mebibytes = m
}
let repetitions = 5

switch args[1] {
case "crc64":
    let size = (mebibytes ?? 256) << 20
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    defer { buffer.deallocate() }
    var rng = XorShift(state: 0x9e37_79b9_7f4a_7c15)
    for i in stride(from: 0, to: size, by: 8) {
        buffer.storeBytes(of: rng.next(), toByteOffset: i, as: UInt64.self)
    }
    var best = Double.infinity
    var crc: UInt64 = 0
    for _ in 0..<repetitions {
        let t0 = now()
        crc = CRC64.update(0, UnsafeRawBufferPointer(buffer))
        best = min(best, now() - t0)
    }
    print("crc64: \(size >> 20) MiB, best of \(repetitions): \(gbPerSecond(size, best)) (crc \(String(crc, radix: 16)))")

case "lzf":
    let size = (mebibytes ?? 64) << 20
    // Text-like data: words from a small vocabulary, numbers and separators, as in typical values.
    let words: [[UInt8]] = ["user", "session", "id", "name", "email", "created", "updated", "status",
                            "active", "order", "item", "price", "quantity", "cart", "true", "false",
                            "null", "value", "key", "token", "region", "eu-west", "us-east", "count"]
        .map { Array($0.utf8) }
    var data = [UInt8]()
    data.reserveCapacity(size + 64)
    var rng = XorShift(state: 0x2545_f491_4f6c_dd1d)
    while data.count < size {
        let r = rng.next()
        switch r % 4 {
        case 0: data.append(contentsOf: words[Int((r >> 8) % UInt64(words.count))]); data.append(UInt8(ascii: ":"))
        case 1: data.append(contentsOf: String((r >> 8) % 100_000).utf8); data.append(UInt8(ascii: ","))
        default: data.append(contentsOf: words[Int((r >> 8) % UInt64(words.count))]); data.append(UInt8(ascii: " "))
        }
    }
    data.removeLast(data.count - size)

    var compressed: [UInt8] = []
    var bestCompress = Double.infinity
    for _ in 0..<repetitions {
        let t0 = now()
        guard let c = data.withUnsafeBytes({ LZF.compress($0, maxOutput: size + size / 16 + 64) }) else {
            fail("LZF.compress returned nil")
        }
        bestCompress = min(bestCompress, now() - t0)
        compressed = c
    }
    var bestDecompress = Double.infinity
    for _ in 0..<repetitions {
        let t0 = now()
        let d = try compressed.withUnsafeBytes { try LZF.decompress($0, originalLength: size) }
        bestDecompress = min(bestDecompress, now() - t0)
        if d != data { fail("LZF round trip differs") }
    }
    let ratio = Double(size) / Double(compressed.count)
    print("lzf: \(size >> 20) MiB, ratio \(Int((ratio * 100).rounded()))/100, best of \(repetitions): "
          + "compress \(gbPerSecond(size, bestCompress)), decompress \(gbPerSecond(size, bestDecompress))")

case "rdb-read":
    guard args.count == 3 else { fail("rdb-read FILE") }
    let t0 = now()
    var keys = 0
    do {
        let r = try RDBReader(path: args[2])
        while let rec = try r.next() { if case .entry = rec { keys += 1 } }
    } catch { fail("\(error)") }
    print("rdb-read: \(keys) keys in \(now() - t0) s")

case "rdb-write":
    guard args.count == 4 else { fail("rdb-write FILE OUT") }
    var entries: [RDBEntry] = []
    do {
        let r = try RDBReader(path: args[2])
        while let rec = try r.next() { if case .entry(let e) = rec { entries.append(e) } }
    } catch { fail("\(error)") }
    let t0 = now()
    let fd = open(args[3], O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    if fd < 0 { fail("cannot open \(args[3])") }
    do {
        let w = try RDBWriter(options: RDBWriterOptions(version: 10)) { b in
            var done = 0
            while done < b.count {
                let n = write(fd, b.baseAddress! + done, b.count - done)
                if n < 0 { fail("write failed") }
                done += n
            }
        }
        try w.writeHeader()
        try w.writeStandardAux(ctime: 0, usedMem: 0)
        var db = -1
        for e in entries {
            if e.db != db { db = e.db; try w.writeSelectDB(db) }
            try w.writeEntry(key: e.key, value: e.value, expiresAt: e.expiresAt)
        }
        try w.finish()
    } catch { fail("\(error)") }
    fsync(fd)
    close(fd)
    print("rdb-write: \(entries.count) keys in \(now() - t0) s")

case "aof-encode":
    let millions = mebibytes ?? 4
    let n = millions * 1_000_000
    let commands: [[[UInt8]]] = (0 ..< 1000).map { i in
        switch i % 3 {
        case 0: return [Array("SET".utf8), Array("key:\(i)".utf8), Array(repeating: UInt8(ascii: "x"), count: 3 + i % 40)]
        case 1: return [Array("LPUSH".utf8), Array("mylist".utf8), Array("element-\(i)".utf8)]
        default: return [Array("HSET".utf8), Array("h:\(i % 50)".utf8), Array("field\(i)".utf8), Array("\(i * 7)".utf8)]
        }
    }
    var best = Double.infinity
    var bytes = 0
    var out: [UInt8] = []
    for _ in 0 ..< repetitions {
        let t0 = now()
        bytes = 0
        for i in 0 ..< n {
            AOFCommands.append(commands[i % 1000], to: &out)
            if out.count > 1 << 20 {
                bytes += out.count
                out.removeAll(keepingCapacity: true)
            }
        }
        bytes += out.count
        out.removeAll(keepingCapacity: true)
        best = min(best, now() - t0)
    }
    print("aof-encode: \(n) commands, \(bytes) bytes, \(Int(Double(n) / best / 1e6 * 10) ) x 0.1 M commands/s, \(gbPerSecond(bytes, best))")

default:
    fail("unknown benchmark \(args[1])")
}
