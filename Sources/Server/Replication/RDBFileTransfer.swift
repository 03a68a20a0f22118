// RDBFileTransfer: a disk-based full sync sends the snapshot file to the replica straight from the
// file, as the socket takes it: `sendfile` on a plain socket (no copy through this process), a chunk
// at a time through the reply buffer under TLS. The primary's memory stays bounded whatever the
// dataset's size; the stream written meanwhile waits in the link's pending bytes and follows the file.
#if canImport(Glibc)
import Glibc
#endif
import Engine

/// The snapshot file being sent to one replica: its descriptor and how far the socket has taken it.
final class RDBFileTransfer {
    let fd: Int32
    let size: Int
    var offset = 0
    /// The replica's session, by id: its link is looked up when the file is done (a weak reference would
    /// give the link a side table, and every later retain of it the slow path).
    let sessionID: Int

    init(fd: Int32, size: Int, link: ReplicaLink) {
        self.fd = fd
        self.size = size
        self.sessionID = link.session.id
    }

    deinit { close(fd) }

    /// Bytes of the file read into the reply buffer at a time under TLS.
    static let chunk = 256 * 1024
}

extension CairnServer {
    /// Opens the snapshot for `l` and queues its `$<size>` header; the file follows as the socket drains.
    /// False when the file cannot be opened.
    func startRDBFileTransfer(_ l: ReplicaLink, path: String) -> Bool {
        guard let conn = bySession[l.session.id], !conn.closed else { return false }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return false }
        var st = stat()
        guard fstat(fd, &st) == 0 else { close(fd); return false }
        let transfer = RDBFileTransfer(fd: fd, size: Int(st.st_size), link: l)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        l.state = .sendBulk
        l.sendingFile = true
        l.session.out += Array("$\(transfer.size)\r\n".utf8)
        conn.rdbTransfer = transfer
        schedule(conn)
        return true
    }

    enum RDBTransferProgress { case wouldBlock, failed, done, queued }

    /// Moves the file on to the socket (the reply buffer is empty). `.done` once the file is sent and
    /// the stream written meanwhile is queued; `.queued` when a TLS chunk waits in the reply buffer.
    func continueRDBFileTransfer(_ conn: Connection, _ t: RDBFileTransfer) -> RDBTransferProgress {
        while t.offset < t.size {
            if conn.ssl != nil {
                let s = conn.session
                let want = min(RDBFileTransfer.chunk, t.size - t.offset)
                let start = s.out.count
                s.out.append(contentsOf: repeatElement(0, count: want))
                let n = s.out.withUnsafeMutableBytes { pread(t.fd, $0.baseAddress! + start, want, off_t(t.offset)) }
                if n <= 0 { s.out.removeLast(want); return .failed }
                if n < want { s.out.removeLast(want - n) }
                t.offset += n
                return .queued
            }
            var off = off_t(t.offset)
            let n = sendfile(conn.fd, t.fd, &off, t.size - t.offset)
            if n > 0 {
                t.offset = Int(off)
                stats.netOutputBytes += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { return .wouldBlock }
            return .failed
        }
        conn.rdbTransfer = nil
        if let l = replication.replicas.first(where: { $0.session.id == t.sessionID }) {
            l.rdbEnd = 0
            l.state = .online
            l.sendingFile = false
            l.ackTime = engine.now
            if l.rdbOnly {
                rdbOnlyReplicaDone(l)
            } else {
                log.notice("Synchronization with replica \(l.ip):\(l.listeningPort) succeeded")
            }
        }
        return .done
    }
}
