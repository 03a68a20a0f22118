// Key commands. STUB: the family's implementer fills this in.

public enum KeyCommands {
    public static var all: [CommandSpec] { [] }
}
