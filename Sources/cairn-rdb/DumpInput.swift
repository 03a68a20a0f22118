// DumpInput: the key-by-key inputs of `convert` and `restore` — an RDB file (.gz too) or a dump
// that `json` / `jsonl` wrote — told apart by content (JSON starts with '[' or '{' after white
// space), not by the file name. Standard input ("-") is sniffed the same way.
import StorageFormat
import ToolKit

/// A JSON dump and the progress bar that follows it: RDBInputFile's twin.
struct JSONInputFile {
    let reader: JSONDumpReader
    let progress: Progress

    /// Calls `body` for every entry the filter selects, updating the progress bar.
    func forEachEntry(_ filter: KeyFilter, _ body: (RDBEntry) throws -> Void) throws {
        defer { progress.finish() }
        while let e = try reader.next() {
            if filter.matches(e) { try body(e) }
            progress.update(reader.offset)
        }
    }
}

extension RDBInputFile {
    init(reader: RDBReader, progress: Progress) {
        self.reader = reader
        self.progress = progress
    }
}

enum DumpInput {
    case rdb(RDBInputFile)
    case json(JSONInputFile)

    /// Opens `path` as JSON when its first non-space byte is '[' or '{', else as RDB. `lossy` and
    /// `onNote` apply to JSON (JSONDumpReader).
    static func open(path: String, label: String, progress: Bool, lossy: Bool = false,
                     onNote: @escaping (String) -> Void = { printError("cairn-rdb: note: \($0)") }) throws -> DumpInput {
        let source = try openByteSource(path: path)
        let (layout, sniffed) = try JSONDumpReader.sniff(source)
        let bar = Progress(label: label, total: source.knownSize, enabled: progress)
        if let layout {
            let reader = try JSONDumpReader(source: sniffed, layout: layout, lossy: lossy)
            reader.onNote = onNote
            return .json(JSONInputFile(reader: reader, progress: bar))
        }
        return .rdb(RDBInputFile(reader: try RDBReader(source: sniffed), progress: bar))
    }
}

extension RestoreSession {
    /// Restores the keys of a JSON dump exactly as those of an RDB file (RESTORE payloads or type commands).
    func restore(_ input: JSONInputFile) throws {
        input.reader.onFunction = { [unowned self] code in if filter.selectsEverything { try restoreFunction(code) } }
        try input.forEachEntry(filter) { e in try restoreKey(e) }
    }
}
