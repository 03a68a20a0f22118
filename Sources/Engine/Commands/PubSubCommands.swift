// SUBSCRIBE / PUBLISH / PUBSUB. STUB: filled in by the dispatcher's author.

public enum PubSubCommands {
    public static var all: [CommandSpec] { [] }
}
