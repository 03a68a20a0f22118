// cairn-check-aof: checks (and repairs) an append-only file the way redis-check-aof 7.0 does, on
// Cairn's readers. The logic is in ToolKit (AOFCheck*.swift); this file parses the command line.
import ArgumentParser
import ToolKit
#if canImport(Glibc)
import Glibc
#endif

@main
struct CairnCheckAOF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-check-aof",
        abstract: "Check an AOF: a single file, a file with an RDB preamble, or a multi-part appendonlydir through its manifest.",
        discussion: """
        A manifest is checked, then its BASE, then every INCR in order (paths relative to the manifest's \
        folder); an RDB preamble is checked record by record with its CRC. Standard output carries the \
        lines redis-check-aof 7.0 prints (same verdicts, offsets and texts), so scripts that wrap it keep \
        working; with --verbose, Cairn's details (the command a problem is in, what a fix or a cut removed, \
        backups) go to standard error; with --json, into one JSON object on standard output instead of the text.

        --fix truncates the last file to its last complete command (before an unclosed MULTI) after \
        "Continue? [y/N]:" (answered on standard input) unless --yes, keeping FILE.bak unless --no-backup. \
        It refuses a problem that is not at the tail of the last file, since truncating there would drop \
        valid commands after it.

        --truncate-to-timestamp T cuts the history at the first #TS: annotation later than T (unix \
        seconds). Alone it does what redis-check-aof does: the last file is truncated where it is, and a \
        cut in any earlier file is refused. With --out DIR or --in-place it cuts in whichever file the \
        annotation is (BASE or any INCR) and drops every later INCR: the result is written to --out DIR (a \
        new or empty folder: the files up to the cut and a manifest listing only them), or with --in-place \
        the cut file is truncated (FILE.bak kept unless --no-backup) and the manifest rewritten.

        Exit codes: 0 valid (or fixed, or cut), 1 problems found (or a fix refused or declined), 2 usage \
        or I/O error.

        Example, on the AOF of a server started by tools/run once `redis-cli CONFIG SET appendonly yes` \
        has created data/appendonlydir:
          bin/cairn-check-aof data/appendonlydir/appendonly.aof.manifest
        """)

    @Flag(help: "Truncate the last file to its last complete command (interactive unless --yes).")
    var fix = false

    @Flag(help: "With --fix: do not ask for confirmation.")
    var yes = false

    @Flag(name: .customLong("no-backup"), help: "With --fix or --in-place: do not keep a FILE.bak copy of what is truncated.")
    var noBackup = false

    @Option(name: .customLong("truncate-to-timestamp"), parsing: .unconditional,
            help: ArgumentHelp("Cut the history at the first #TS: annotation later than T (unix seconds).", valueName: "T"))
    var truncateToTimestamp: String?

    @Option(help: ArgumentHelp("With --truncate-to-timestamp: write the result to this new (or empty) folder.", valueName: "DIR"))
    var out: String?

    @Flag(name: .customLong("in-place"), help: "With --truncate-to-timestamp: truncate the files where they are instead of writing --out DIR.")
    var inPlace = false

    @Flag(help: "Print Cairn's details (where a problem is, what a fix or cut removed, backups) on standard error.")
    var verbose = false

    @Flag(help: "Print one JSON object with the result instead of the text lines.")
    var json = false

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar (it is drawn only when standard error is a terminal).")
    var noProgress = false

    @Argument(help: ArgumentHelp("The AOF file, or the manifest of a multi-part AOF (appendonlydir/<name>.manifest).", valueName: "FILE-or-MANIFEST"))
    var file: String

    func timestamp() throws -> Int64? {
        guard let t = truncateToTimestamp else { return nil }
        var s = Substring(t)
        if s.hasPrefix("+") { s = s.dropFirst() }
        guard let v = Int64(s) else { throw ValidationError("Invalid timestamp, aborting... ('\(t)' is not a whole number of seconds)") }
        return v
    }

    func validate() throws {
        _ = try timestamp()
        if fix && truncateToTimestamp != nil { throw ValidationError("--fix and --truncate-to-timestamp cannot be used together") }
        if truncateToTimestamp != nil {
            if out != nil && inPlace { throw ValidationError("--out and --in-place cannot be used together") }
        } else if out != nil || inPlace {
            throw ValidationError("--out and --in-place go with --truncate-to-timestamp")
        }
        if yes && !fix { throw ValidationError("--yes goes with --fix") }
    }

    func run() throws {
        var o = AOFCheckOptions(path: file)
        o.fix = fix
        o.yes = yes
        o.backup = !noBackup
        o.truncateToTimestamp = try timestamp()
        o.outDir = out
        o.inPlace = inPlace
        o.json = json
        o.verbose = verbose
        o.progress = !noProgress
        let code = AOFCheckTool.run(o)
        if code != 0 { throw ExitCode(code) }
    }
}

// Usage errors from ArgumentParser exit with 64 by default; Cairn's contract says 2.
extension CairnCheckAOF {
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let e as ExitCode {
            Glibc.exit(e.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            printError(fullMessage(for: error))
            Glibc.exit(ToolExit.usage.rawValue)
        }
    }
}
