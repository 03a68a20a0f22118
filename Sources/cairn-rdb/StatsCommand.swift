// cairn-rdb stats FILE: cairn-check-rdb's statistics table (per database and type: keys, encodings,
// expiries, key and value sizes, module types, function libraries) without the validation stopping it:
// problems are reported on standard error and reading continues past them where the format allows.
import ArgumentParser
import StorageFormat
import ToolKit

extension RDBCheckFormat: ExpressibleByArgument {}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print the statistics of an RDB file (keys, encodings, sizes per database and type).",
        discussion: "Problems in the file are printed on standard error and skipped where possible; exit 1 when there were any.")

    @Argument(help: "The RDB file to read (.gz is decompressed transparently; - reads standard input).")
    var file: String

    @Option(help: "Output format: table, json or csv.")
    var format: RDBCheckFormat = .table

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar (it is drawn only on a terminal).")
    var noProgress = false

    func run() throws {
        let code = RDBCheckRunner.run(file: file, format: format, salvage: false, progress: !noProgress, mode: .stats)
        if code != .ok { throw ExitCode(code.rawValue) }
    }
}
