// RDBCheckRunner: the command-line behaviour shared by cairn-check-rdb and `cairn-rdb stats` — where each
// kind of output goes and which exit code results.
//   check (cairn-check-rdb): redis-check-rdb's lines, then the stats (table), or one JSON document
//     (json), or CSV rows on stdout with the lines on stderr (csv). Exit 1 on any problem.
//   stats (cairn-rdb stats): the stats only, on stdout; problems and warnings on stderr; reading goes on
//     past corrupt values where it can (salvage), so the stats cover what could be read. Exit 1 on a problem.
import StorageFormat

public enum RDBCheckRunner {
    public enum Mode: Sendable { case check, stats }

    /// Runs the check on `file`; returns the exit code.
    public static func run(file: String, format: RDBCheckFormat, salvage: Bool, progress: Bool, mode: Mode,
                           scanner: RDBDecoder.Options = RDBDecoder.Options()) -> ToolExit {
        var options = RDBCheckOptions()
        options.salvage = salvage
        options.progress = progress
        options.scanner = scanner
        if mode == .stats {
            // Keep going where the format allows it; a compressed or piped input stops at the first problem.
            options.salvage = salvage || isRegularUncompressedFile(file)
        }
        let startSize = RDBCheck.fileSize(file)
        let check = RDBCheck(path: file, options: options)
        let out = FileOutput.standardOutput()
        // Cut short while mapped, a file reads as zeros up to the end of its last page before any
        // SIGBUS: whatever that "finds" is the truncation, and is reported as such.
        func shrank() -> Bool {
            guard let before = startSize, let now = RDBCheck.fileSize(file), now < before else { return false }
            printError("error: the input file shrank while it was being read (\(before) -> \(now) bytes); was it truncated or replaced?")
            return true
        }
        switch (mode, format) {
        case (.check, .table):
            check.emit = { line in
                _ = try? out.write(line + "\n")
            }
        case (.check, .csv), (.stats, _):
            check.emit = { line in
                if mode == .stats && !(line.hasPrefix("--- RDB") || line.contains("WARNING") || line.contains("salvage") || line.hasPrefix("[additional")
                    || line.contains(": expected ")) { return }
                printError(line)
            }
        case (.check, .json):
            break
        }
        do {
            try check.run()
            switch format {
            case .table:
                if mode == .check { try out.write("\n") }
                try out.write(check.stats.table())
            case .csv:
                try out.write(check.stats.csv())
            case .json:
                try check.writeJSON(to: out)
            }
            try out.flush()
        } catch {
            try? out.flush()
            if shrank() { return .usage }
            let (message, code) = classify(error)
            printError("\(mode == .check ? "cairn-check-rdb" : "cairn-rdb stats"): \(message)")
            return code == .invalid ? .invalid : .usage
        }
        if !check.ok && shrank() { return .usage }
        return check.ok ? .ok : .invalid
    }

    static func isRegularUncompressedFile(_ path: String) -> Bool {
        guard path != "-", let s = try? openByteSource(path: path) else { return false }
        return s is FileSource && s.knownSize != nil
    }
}
