// String commands. STUB: the family's implementer fills this in.

public enum StringCommands {
    public static var all: [CommandSpec] { [] }
}
