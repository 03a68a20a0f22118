// cairn-rdb: RDB files outside the server. Subcommands: json / jsonl (dump keys), resp (keys as
// RESP commands), memory (per-key memory report), diff (two dumps, or a dump and a live server),
// restore (a dump, JSON or AOF into a live server), convert (another RDB version; JSON or an AOF to
// RDB), stats (the checker's stats table), generate (a synthetic dump for tests and benchmarks).
// Exit codes: 0 success, 1 invalid input or differences found, 2 usage or I/O error.
import ArgumentParser
import StorageFormat
import ToolKit
#if canImport(Glibc)
import Glibc
#endif

@main
struct CairnRDB: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn-rdb",
        abstract: "Inspect and convert Redis RDB files.",
        discussion: """
        Exit codes: 0 success, 1 the input is invalid (the error names the byte offset) or, for diff and \
        restore, differences or failed keys, 2 usage or I/O error.

        Examples, on the snapshot of a server started by tools/run (redis-cli SAVE writes it):
          bin/cairn-rdb json data/dump.rdb
          bin/cairn-rdb stats data/dump.rdb
          bin/cairn-rdb memory data/dump.rdb
        """,
        subcommands: [JSONCommand.self, JSONLCommand.self, RESPCommand.self, MemoryCommand.self,
                      DiffCommand.self, RestoreCommand.self, ConvertCommand.self, StatsCommand.self, GenerateCommand.self])

    /// Runs `body`, mapping errors to Cairn's exit codes.
    static func guarded(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let e as ExitCode {
            throw e
        } catch {
            let (message, code) = classify(error)
            printError("cairn-rdb: \(message)")
            throw ExitCode(code.rawValue)
        }
    }
}

// Usage errors from ArgumentParser exit with 64 by default; Cairn's contract says 2.
extension CairnRDB {
    static func main() {
        installTruncatedInputGuard()
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
