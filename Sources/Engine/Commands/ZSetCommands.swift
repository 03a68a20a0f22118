// ZSet commands. STUB: the family's implementer fills this in.

public enum ZSetCommands {
    public static var all: [CommandSpec] { [] }
}
