// PropagationTargets: where a write is propagated, the AOF, the replicas, both or neither. Every write
// goes to both, except inside a script that chose otherwise with redis.set_repl (REPL_AOF = 1,
// REPL_REPLICA = 2, REPL_ALL = 3, REPL_NONE = 0, the same bits as Redis's PROPAGATE_AOF/PROPAGATE_REPL).

public struct PropagationTargets: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let aof = PropagationTargets(rawValue: 1)
    public static let replicas = PropagationTargets(rawValue: 2)
    public static let all: PropagationTargets = [.aof, .replicas]
}
