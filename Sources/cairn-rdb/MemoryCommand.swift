// cairn-rdb memory FILE: a CSV line per selected key with rdbtools' memory report columns
//   database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry
// size_in_bytes is ToolKit.KeyMemory's estimate (the model is described there); encoding is what
// Redis holds the value in after loading it; num_elements is the string length for strings, the
// element count otherwise; len_largest_element the longest element (string: its length; hash: the
// longest field or value); expiry is ISO 8601 UTC (rdbtools' format) or empty.
// The key column is text: printable ASCII as is, other bytes and the backslash as \xHH (lossless);
// a field holding a comma or a quote is quoted as RFC 4180 says.
// --bigkeys N keeps only the N largest keys of each type, in a bounded min-heap (memory O(N × types)),
// and prints them at the end, by type, largest first. --bytes B keeps keys of at least B bytes.
// Values are walked element by element (KeyMemoryMeter): memory does not grow with a key's size.
import ArgumentParser
import HeapModule
import StorageFormat
import ToolKit

struct MemoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Print a CSV memory report per key (rdbtools' columns).",
        discussion: "Columns: database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry. Sizes are estimates for 64-bit Redis with jemalloc. Exit codes: 0 ok, 1 invalid input, 2 usage or I/O error.")

    @Argument(help: "The RDB file to read (.gz is decompressed transparently; - reads standard input).")
    var file: String

    @OptionGroup var filters: FilterOptions

    @Option(name: .customLong("bigkeys"), help: ArgumentHelp("Only the N largest keys of each type.", valueName: "N"))
    var bigkeys: Int?

    @Option(name: .customLong("bytes"), help: ArgumentHelp("Only keys of at least B estimated bytes.", valueName: "B"))
    var minBytes: Int?

    @Flag(name: .customLong("no-header"), help: "Leave out the header line.")
    var noHeader = false

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar.")
    var noProgress = false

    func validate() throws {
        if let n = bigkeys, n < 1 { throw ValidationError("--bigkeys must be at least 1") }
    }

    /// A row in a per-type heap: ordered by size, then by file order (earlier wins ties).
    struct Ranked: Comparable {
        var size: Int
        var seq: Int
        var row: KeyMemoryRow
        static func < (a: Ranked, b: Ranked) -> Bool { a.size != b.size ? a.size < b.size : a.seq > b.seq }
        static func == (a: Ranked, b: Ranked) -> Bool { a.size == b.size && a.seq == b.seq }
    }

    func run() throws {
        try CairnRDB.guarded {
            let filter = try filters.makeFilter()
            let input = try RDBInputFile(path: file, label: "memory", progress: !noProgress)
            let version = input.reader.dialect.version
            let out = FileOutput.standardOutput()
            if !noHeader { try out.write("database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry\n") }
            var heaps: [String: Heap<Ranked>] = [:]
            var seq = 0
            let meter = KeyMemoryMeter(fileVersion: version)
            try input.forEachKey(filter, visitor: meter) { _ in
                guard let row = meter.row else { return }
                if let minBytes, row.sizeInBytes < minBytes { return }
                if let n = bigkeys {
                    seq += 1
                    var heap = heaps.removeValue(forKey: row.type) ?? Heap()
                    let r = Ranked(size: row.sizeInBytes, seq: seq, row: row)
                    if heap.count < n {
                        heap.insert(r)
                    } else if let min = heap.min, min < r {
                        _ = heap.replaceMin(with: r)
                    }
                    heaps[row.type] = heap
                } else {
                    try write(row, to: out)
                }
            }
            if bigkeys != nil {
                for type in KeyFilter.typeNames {
                    guard var heap = heaps[type] else { continue }
                    var rows: [KeyMemoryRow] = []
                    while let r = heap.popMax() { rows.append(r.row) }
                    for r in rows { try write(r, to: out) }
                }
            }
            try out.flush()
        }
    }

    func write(_ r: KeyMemoryRow, to out: FileOutput) throws {
        var line = "\(r.db),\(r.type),"
        line += csvField(csvKey(r.key))
        line += ",\(r.sizeInBytes),\(r.encoding),\(r.numElements),\(r.lenLargestElement),"
        if let at = r.expiresAt { line += isoTimestamp(unixMilliseconds: at) }
        line += "\n"
        try out.write(line)
    }

    /// Printable ASCII as is; the backslash and every other byte as \xHH.
    func csvKey(_ key: [UInt8]) -> String {
        let hex = Array("0123456789abcdef")
        var s = ""
        for b in key {
            if b >= 0x20 && b <= 0x7e && b != UInt8(ascii: "\\") {
                s.append(Character(Unicode.Scalar(b)))
            } else {
                s += "\\x"; s.append(hex[Int(b >> 4)]); s.append(hex[Int(b & 15)])
            }
        }
        return s
    }

    func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" }) else { return s }
        var q = "\""
        for c in s {
            if c == "\"" { q += "\"\"" } else { q.append(c) }
        }
        return q + "\""
    }
}
