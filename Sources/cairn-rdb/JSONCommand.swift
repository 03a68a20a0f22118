// cairn-rdb json FILE: every selected key as JSON, in rdbtools' layout — an array with one object per
// database of the file (those --db excludes are left out), key → value; strings binary-safe; hashes
// as objects; lists and sets as arrays; sorted sets as member → score. Streams as an object of their
// entries and groups, module values as their module's name (ValueJSON.swift); function libraries as a last
// element {"functions":[{"name":…,"code":…}]}, which `convert` reads back (left out when a filter
// selects keys: libraries are not keys). Streams the file: values are
// walked element by element (memory independent of the size of any key).
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
            let writer = JSONValueWriter(out: out)
            writer.onBegin = { h in
                if !openDB { open() }
                if !firstKey { out.writeASCII(",") }
                firstKey = false
                out.writeASCII("\n")
                out.writeJSONString(h.key)
                out.writeASCII(":")
            }
            var functions: [[UInt8]] = []
            try input.forEachKey(filter, onRecord: { record in
                if case .selectDB(let db) = record {
                    if openDB { out.writeASCII("}") }
                    openDB = false
                    if filter.accepts(db: db) { open() }
                } else if case .function(let code) = record, filter.selectsEverything {
                    functions.append(code)
                }
            }, visitor: writer)
            if openDB { out.writeASCII("}") }
            // Function libraries, after the databases, as one element: {"functions":[{"name":…,"code":…}]}.
            // No key's value is an array of objects, so this element cannot be read as a database.
            if !functions.isEmpty {
                out.writeASCII(firstDB ? "\n{\"functions\":[" : ",\n{\"functions\":[")
                for (i, code) in functions.enumerated() {
                    out.writeASCII(i == 0 ? "{\"name\":" : ",{\"name\":")
                    out.writeJSONString(Array(RDBStats.libraryName(code).utf8))
                    out.writeASCII(",\"code\":")
                    out.writeJSONString(code)
                    out.writeASCII("}")
                }
                out.writeASCII("]}")
            }
            out.writeASCII("]\n")
            try out.flush()
        }
    }
}
