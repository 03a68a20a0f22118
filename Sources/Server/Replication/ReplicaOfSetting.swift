// ReplicaOfSetting: REPLICAOF keeps the replicaof parameter in step, so CONFIG GET replicaof and
// CONFIG REWRITE (Sentinel relies on it) show the primary this node follows.
extension ServerConfig {
    func setReplicaOf(host: String?, port: Int) {
        guard let i = ConfigTable.lookup("replicaof") else { return }
        setValue(.replica(host.map { ReplicaOf(host: Array($0.utf8), port: port) }), at: i)
    }
}
