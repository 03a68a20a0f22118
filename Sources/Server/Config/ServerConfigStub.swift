// TEMPORARY: replaced by the config table at integration.
import Engine

public final class ServerConfig {
    public var port = 6379
    public var bind = ["127.0.0.1", "-::1"]
    public var protectedMode = true
    public var dir = "."
    public var requirepass: [UInt8]? = nil
    public var databases = 16
    public var hz = 10
    public var maxclients = 10000
    public var timeout = 0
    public var protoMaxBulkLen = 512 * 1024 * 1024
    public var clientQueryBufferLimit = 1024 * 1024 * 1024
    public var loglevelName = "notice"
    public var logfile = ""
    public var configFile: String? = nil
    public init() {}
    public var engineConfig: EngineConfig { EngineConfig() }
}
public func configCommands(_ config: ServerConfig) -> [CommandSpec] { [] }
