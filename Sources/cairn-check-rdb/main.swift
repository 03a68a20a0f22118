// cairn-check-rdb FILE: validates an RDB file and prints redis-check-rdb's summary plus a stats table.
// The work is in ToolKit (RDBCheck, RDBStats, RDBCheckRunner) and StorageFormat (RDBDecoder).
// Exit codes: 0 the file is valid, 1 a problem was found, 2 usage or I/O error.
import ArgumentParser
import StorageFormat
import ToolKit
#if canImport(Glibc)
import Glibc
#endif

extension RDBCheckFormat: ExpressibleByArgument {}

struct CairnCheckRDB: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-check-rdb",
        abstract: "Validate an RDB file (Redis 1-12, Valkey 80) and print its statistics.",
        discussion: """
        Every opcode, type and encoding is checked, compact structures (listpack, ziplist, intset, zipmap) \
        entry by entry, LZF data, duplicate members and keys, and the CRC64 trailer. Values are walked \
        element by element, so memory does not grow with the file or the largest key. A .gz file is \
        decompressed on the fly.

        Exit codes: 0 the file is valid (warnings may be printed), 1 a problem was found (its offset, \
        key, type, what was expected and what was found are printed), 2 usage or I/O error.

        Example, on the snapshot of a server started by tools/run (redis-cli SAVE writes it):
          bin/cairn-check-rdb data/dump.rdb
          bin/cairn-check-rdb --format json data/dump.rdb
        """)

    @Flag(help: "Continue past a corrupt value at the next readable record and report every skipped key (uncompressed files).")
    var salvage = false

    @Option(help: "Output format: table (redis-check-rdb's lines and a stats table), json, or csv.")
    var format: RDBCheckFormat = .table

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar (it is drawn only on a terminal).")
    var noProgress = false

    @Flag(name: .customLong("no-duplicate-keys"), help: "Skip the duplicate-key check (it needs 16 bytes of temporary disk per key beyond about a million keys).")
    var noDuplicateKeys = false

    @Argument(help: "The RDB file (.gz is decompressed transparently; - reads standard input).")
    var file: String

    func run() throws {
        var scanner = RDBDecoder.Options()
        scanner.checkDuplicateKeys = !noDuplicateKeys
        let code = RDBCheckRunner.run(file: file, format: format, salvage: salvage, progress: !noProgress && format == .table,
                                      mode: .check, scanner: scanner)
        if code != .ok { throw ExitCode(code.rawValue) }
    }
}

// Usage errors from ArgumentParser exit with 64 by default; Cairn's contract says 2.
installTruncatedInputGuard()
do {
    var command = try CairnCheckRDB.parseAsRoot()
    try command.run()
} catch let e as ExitCode {
    exit(e.rawValue)
} catch {
    let code = CairnCheckRDB.exitCode(for: error)
    if code == .success {
        print(CairnCheckRDB.fullMessage(for: error))
        exit(0)
    }
    printError(CairnCheckRDB.fullMessage(for: error))
    exit(ToolExit.usage.rawValue)
}
