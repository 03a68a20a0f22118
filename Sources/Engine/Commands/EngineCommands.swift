// The engine's command families, gathered into one table. Each family lives in its own file.

public enum EngineCommands {
    public static var all: [CommandSpec] {
        KeyCommands.all + StringCommands.all + ListCommands.all + HashCommands.all + SetCommands.all
            + ZSetCommands.all + GeoCommands.all + DumpCommands.all + TransactionCommands.all + PubSubCommands.all + ConnectionCommands.all
            + ACLCommands.all + StreamCommands.all + ScriptCommands.all + FunctionCommands.all
            + ShardedPubSubCommands.all + [LolwutCommand.spec]
    }

    /// Commands whose first argument is a subcommand (stats count them as "name|sub").
    public static let containers: Set<String> = ["config", "client", "object", "command", "pubsub", "memory",
                                                 "slowlog", "latency", "function", "script", "xinfo", "cluster", "acl", "xgroup"]
}
