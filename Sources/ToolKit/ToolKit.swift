// ToolKit: what the offline tools share (exit codes, output helpers). It grows with the tools issue.
import StorageFormat

/// Exit codes every Cairn tool uses.
public enum ToolExit: Int32 {
    case ok = 0
    /// The input is invalid (a format problem was found).
    case invalid = 1
    /// Usage or I/O error.
    case usage = 2
}
