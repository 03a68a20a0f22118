// cairn-rdb json FILE: every selected key as JSON, in rdbtools' layout — an array with one object per
// database of the file (those --db excludes are left out), key → value; strings binary-safe; hashes
// as objects; lists and sets as arrays; sorted sets as member → score. Streams as an object of their
// entries and groups, module values as their module's name (ValueJSON.swift). Streams the file: one
// record in memory at a time.
import ArgumentParser
import StorageFormat
import ToolKit

struct JSONCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "json",
        abstract: "Print the keys of an RDB file as JSON (rdbtools' layout).",
        discussion: "One object per database, in file order (rdbtools' layout carries no database numbers: use jsonl for them). Exit codes: 0 ok, 1 invalid input, 2 usage or I/O error.")

    @Argument(help: "The RDB file to read (.gz is decompressed transparently; - reads standard input).")
    var file: String

    @OptionGroup var filters: FilterOptions

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar.")
    var noProgress = false

    func run() throws {
        try CairnRDB.guarded {
            let filter = try filters.makeFilter()
            let input = try RDBInputFile(path: file, label: "json", progress: !noProgress)
            let reader = input.reader
            let out = FileOutput.standardOutput()
            var openDB = false
            var firstKey = true
            var firstDB = true
            func open() {
                if !firstDB { out.writeASCII(",") }
                firstDB = false
                out.writeASCII("{")
                openDB = true
                firstKey = true
            }
            out.writeASCII("[")
            defer { input.progress.finish() }
            while let record = try reader.next() {
                switch record {
                case .selectDB(let db):
                    if openDB { out.writeASCII("}") }
                    openDB = false
                    if filter.accepts(db: db) { open() }
                case .entry(let e):
                    guard filter.matches(e) else { break }
                    if !openDB { open() }
                    if !firstKey { out.writeASCII(",") }
                    firstKey = false
                    out.writeASCII("\n")
                    out.writeJSONString(e.key)
                    out.writeASCII(":")
                    try out.writeJSONValue(e.value)
                    try out.flushIfFull()
                default:
                    break
                }
                input.progress.update(reader.offset)
            }
            if openDB { out.writeASCII("}") }
            out.writeASCII("]\n")
            try out.flush()
        }
    }
}
