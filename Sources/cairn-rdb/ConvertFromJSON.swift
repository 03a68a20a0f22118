// convert from JSON: a dump `json` or `jsonl` wrote (JSONInput.swift: what each layout carries and
// what is inferred) becomes an RDB file of the requested version, key by key in input order, a
// SELECTDB whenever the database changes. The standard AUX fields are written (redis-ver of the
// release that writes the version); there is no RESIZEDB hint, as the counts are not known up front.
import StorageFormat
import ToolKit

extension ConvertCommand {
    func convertJSON(_ input: JSONInputFile, options: RDBWriterOptions) throws {
        var keys = 0
        var notes = 0
        var functions = 0
        let redisVersion = [9: "6.2.14", 10: "7.0.15", 11: "7.2.4", 12: "7.4.0"][toVersion] ?? "7.0.15"
        input.reader.onNote = { note in
            notes += 1
            printError("cairn-rdb: note: \(note)")
        }
        try writeAtomically(to: output) { out in
            let writer = try RDBWriter(options: options) { try out.write($0) }
            writer.onNote = input.reader.onNote
            try writer.writeHeader()
            try writer.writeStandardAux(redisVersion: redisVersion, ctime: nowMilliseconds() / 1000, usedMem: 0)
            input.reader.onFunction = { code in
                try writeFunction(code, to: writer)
                functions += 1
            }
            var db = -1
            try input.forEachEntry(KeyFilter()) { e in
                if e.db != db {
                    try writer.writeSelectDB(e.db)
                    db = e.db
                }
                try writer.writeEntry(key: e.key, value: e.value, expiresAt: e.expiresAt)
                keys += 1
            }
            try writer.finish()
        }
        printError("cairn-rdb: wrote \(keys) keys" + (functions > 0 ? " and \(functions) function libraries" : "")
                   + " to \(output) as RDB version \(toVersion)" + (notes > 0 ? " (\(notes) notes above)" : ""))
    }
}
