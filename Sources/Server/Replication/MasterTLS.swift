// MasterTLS: the replica's link to its primary over TLS (tls-replication yes), as Redis 7.0 does it.
// After the non-blocking TCP connect a client SSL session is opened with the outgoing context
// (tls-client-cert-file/tls-client-key-file, else tls-cert-file/tls-key-file, and the CA that verifies
// the primary); SSL_connect is retried on the socket's events, so a primary that stalls mid-handshake
// blocks nothing (repl-timeout drops it). Until the stream starts, the handshake replies and the RDB
// are read through masterRead and the handshake commands written through masterWrite; then the SSL
// object moves to the stream's Connection, whose reads and writes already speak TLS.
#if canImport(Glibc)
import Glibc
#endif
import COpenSSL

extension CairnServer {
    /// The context for connections this node opens; built on demand when TLS was not set up at start.
    func outgoingTLSContext() -> OpaquePointer? {
        if tls.ctx == nil {
            tls.ctx = TLSState.makeContext(config, log: { self.log.warning($0) })
            if tls.ctx != nil { tls.clientCtx = makeClientContext() }
        }
        return tls.outgoing
    }

    /// The TCP connect succeeded: the TLS handshake begins.
    func startMasterTLS(_ m: MasterLink) {
        guard let ctx = outgoingTLSContext(), let ssl = SSL_new(ctx) else {
            log.warning("Unable to connect to MASTER: Failed to configure TLS. Check logs for more info.")
            masterLinkFailed(m)
            return
        }
        // The primary's certificate must chain to the configured CA (Redis checks no host name).
        SSL_set_verify(ssl, SSL_VERIFY_PEER, nil)
        SSL_set_fd(ssl, m.fd)
        SSL_set_connect_state(ssl)
        m.ssl = ssl
        masterTLSHandshake(m)
    }

    /// One step of the client handshake; once done, the replication handshake starts with PING.
    func masterTLSHandshake(_ m: MasterLink) {
        guard let ssl = m.ssl else { return }
        ERR_clear_error()
        let r = SSL_connect(ssl)
        if r == 1 {
            m.lastIO = engine.now
            loop.setWritable(m.fd, false)
            log.notice("Non blocking connect for SYNC fired the event.")
            m.state = .receivePong
            sendToMaster(m, ["PING"])
            return
        }
        switch SSL_get_error(ssl, r) {
        case SSL_ERROR_WANT_READ:
            loop.setWritable(m.fd, false)
        case SSL_ERROR_WANT_WRITE:
            loop.setWritable(m.fd, true)
        default:
            log.warning("Error condition on socket for SYNC: \(tlsFailureText(errno))")
            masterLinkFailed(m)
        }
    }

    /// OpenSSL's reason for the last failure, or the system's when OpenSSL queued none (a peer that
    /// closed during the handshake).
    func tlsFailureText(_ savedErrno: Int32) -> String {
        if ERR_peek_error() != 0 { return TLSState.lastError() }
        return savedErrno != 0 ? String(cString: strerror(savedErrno)) : "Connection closed by peer"
    }

    /// Reads from the link before the stream: the socket, or through TLS. As `read`: -1 with errno
    /// EAGAIN when nothing is there; 0 when the primary closed or TLS failed.
    func masterRead(_ m: MasterLink, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        guard let ssl = m.ssl else { return Glibc.read(m.fd, buffer, count) }
        ERR_clear_error()
        let n = SSL_read(ssl, buffer, Int32(clamping: count))
        if n > 0 { return Int(n) }
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            errno = EAGAIN
            return -1
        case SSL_ERROR_ZERO_RETURN:
            return 0
        default:
            log.warning("Error reading from MASTER: \(tlsFailureText(errno))")
            errno = ECONNRESET
            return 0
        }
    }

    /// Writes to the link before the stream (handshake commands, the newlines while loading). Small
    /// writes into a socket with room: a write that cannot finish now is dropped, as the plain one.
    @discardableResult
    func masterWrite(_ m: MasterLink, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        guard let ssl = m.ssl else { return Glibc.write(m.fd, buffer, count) }
        ERR_clear_error()
        let n = SSL_write(ssl, buffer, Int32(clamping: count))
        return n > 0 ? Int(n) : -1
    }

    func freeMasterTLS(_ m: MasterLink) {
        if let ssl = m.ssl { SSL_free(ssl); m.ssl = nil }
    }
}
