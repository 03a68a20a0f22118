// Set commands. STUB: the family's implementer fills this in.

public enum SetCommands {
    public static var all: [CommandSpec] { [] }
}
