// RoleRefusal: why this node's replication role refuses a command (Engine.roleGate, which the server
// sets): a replica whose link is down and that does not serve stale data, a write on a read-only
// replica, a write on a primary with too few good replicas. Typed, so scripts can tell the cases apart
// (a flagless EVAL meets NOREPLICAS only at its first write); `message` is Redis's reply text.

public enum RoleRefusal: Sendable, Equatable {
    /// A replica with its link down and replica-serve-stale-data no, for a command without the stale flag.
    case masterDown
    /// The same for a command a script calls.
    case staleInScript
    /// A write on a read-only replica.
    case readOnly
    /// A write on a primary with fewer good replicas than min-replicas-to-write.
    case noReplicas

    public var message: String {
        switch self {
        case .masterDown: return "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
        case .staleInScript: return "ERR Can not execute the command on a stale replica"
        case .readOnly: return "READONLY You can't write against a read only replica."
        case .noReplicas: return "NOREPLICAS Not enough good replicas to write."
        }
    }
}
