// MULTI / EXEC / DISCARD / WATCH / UNWATCH. STUB: filled in by the dispatcher's author.

public enum TransactionCommands {
    public static var all: [CommandSpec] { [] }
}
