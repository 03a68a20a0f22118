// PING ECHO SELECT HELLO AUTH CLIENT COMMAND .... STUB: filled in by the dispatcher's author.

public enum ConnectionCommands {
    public static var all: [CommandSpec] { [] }
}
