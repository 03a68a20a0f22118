// ReplicationStream: SYNC, the oldest form of Redis's replica handshake. The client gets the dataset as
// one RDB bulk (`$<length>\r\n<rdb>`, no trailing CRLF) and from then on every write in the form it is
// propagated (the AOF's form: EXPIRE as PEXPIREAT, SPOP as SREM, transactions in MULTI/EXEC), preceded
// by SELECT whenever the database changes. Redis's test suite reads this stream to check what a
// command propagates. The snapshot is made in-line: full replication (PSYNC, backlog, forked
// transfer) is a separate piece of work.
#if canImport(Glibc)
import Glibc
#endif
import Engine
import Persistence
import StorageFormat

/// One client attached to the replication stream.
final class ReplicaLink {
    unowned let session: Session
    /// The database the stream last selected for this replica (-1: none yet).
    var selectedDB = -1
    init(session: Session) { self.session = session }
}

extension CairnServer {
    func registerReplicationStream() {
        engine.register([
            CommandSpec("sync", arity: 1, flags: [.admin, .noScript, .noMulti]) { [unowned self] ctx in
                self.attachReplica(ctx)
            },
        ])
    }

    func attachReplica(_ ctx: CommandContext) {
        let s = ctx.session
        if replicaLinks.contains(where: { $0.session === s }) { return }
        let image: [UInt8]
        do {
            image = try SnapshotWriter.snapshotBytes(engine, options: SnapshotOptions(), usedMemory: usedMemory())
        } catch {
            ctx.error("ERR \(error)")
            return
        }
        s.isReplica = true
        ctx.raw(Array("$\(image.count)\r\n".utf8) + image)
        replicaLinks.append(ReplicaLink(session: s))
        log.notice("Replica \(s.address) asks for synchronization")
        log.notice("Synchronization with replica \(s.address) succeeded")
        engine.replicationSink = { [unowned self] db, args in self.feedReplicas(db, args) }
    }

    func feedReplicas(_ db: Int, _ args: [[UInt8]]) {
        for link in replicaLinks {
            let s = link.session
            if link.selectedDB != db {
                let number = Array(String(db).utf8)
                RESPEncoder.arrayHeader(2, to: &s.out)
                RESPEncoder.bulk(Array("SELECT".utf8), to: &s.out)
                RESPEncoder.bulk(number, to: &s.out)
                link.selectedDB = db
            }
            RESPEncoder.arrayHeader(args.count, to: &s.out)
            for a in args { RESPEncoder.bulk(a, to: &s.out) }
            s.wakeup?()
        }
    }

    /// A replica's connection closed: it leaves the stream.
    func detachReplica(_ s: Session) {
        guard s.isReplica else { return }
        replicaLinks.removeAll { $0.session === s }
        if replicaLinks.isEmpty { engine.replicationSink = nil }
    }
}
