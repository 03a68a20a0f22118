// Hash commands. STUB: the family's implementer fills this in.

public enum HashCommands {
    public static var all: [CommandSpec] { [] }
}
