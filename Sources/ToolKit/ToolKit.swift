// ToolKit: what the offline tools share: exit codes, output, error reporting.
import StorageFormat

/// Exit codes every Cairn tool uses.
public enum ToolExit: Int32 {
    case ok = 0
    /// The input is invalid (a format problem was found).
    case invalid = 1
    /// Usage or I/O error.
    case usage = 2
}

/// Maps an error to the message a tool prints and its exit code.
public func classify(_ error: Error) -> (message: String, code: ToolExit) {
    switch error {
    case let e as FormatError: return ("invalid input: \(e)", .invalid)
    case let e as RDBWriteError: return ("cannot convert: \(e)", .usage)
    case let e as IOError: return ("I/O error: \(e)", .usage)
    default: return ("error: \(error)", .usage)
    }
}
