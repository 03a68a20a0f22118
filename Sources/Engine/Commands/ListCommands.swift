// List commands. STUB: the family's implementer fills this in.

public enum ListCommands {
    public static var all: [CommandSpec] { [] }
}
