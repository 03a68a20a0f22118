// TLS with OpenSSL, as Redis 7.0 configures it: a server context built from the tls-* parameters
// (certificate chain, key and its passphrase, CA file/dir, protocols, ciphers, ciphersuites, server
// cipher preference, session cache, DH parameters), replaced atomically when CONFIG SET changes one
// of them; listeners on tls-port next to the plain ones; and per-connection SSL objects driven by the
// ordinary epoll loop. A handshake is just the first SSL_read: it never blocks, so a client that
// connects and sends nothing costs the others nothing. tls-auth-clients decides peer verification
// per connection (yes: a certificate is required, optional: checked if given, no: not asked).
#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import Engine

/// The server's TLS context and the settings it was built from.
final class TLSState {
    var ctx: OpaquePointer? = nil
    /// For connections Cairn opens (MIGRATE with tls-cluster): built from tls-client-cert-file and
    /// tls-client-key-file when both are set, else the server context serves both sides, as in Redis.
    var clientCtx: OpaquePointer? = nil
    var outgoing: OpaquePointer? { clientCtx ?? ctx }
    var listeners: [Int32] = []
    var boundPort = 0

    /// Builds a context from `config`; nil (with the reasons logged) when something is wrong.
    static func makeContext(_ config: ServerConfig, client: Bool = false, log: (String) -> Void) -> OpaquePointer? {
        func opt(_ name: String) -> String? {
            let b = config.bytes(name)
            return b.isEmpty ? nil : String(decoding: b, as: UTF8.self)
        }
        guard let cert = opt(client ? "tls-client-cert-file" : "tls-cert-file") else { log("No tls-cert-file configured!"); return nil }
        guard let key = opt(client ? "tls-client-key-file" : "tls-key-file") else { log("No tls-key-file configured!"); return nil }
        let caFile = opt("tls-ca-cert-file"), caDir = opt("tls-ca-cert-dir")
        if (config.enumName("tls-auth-clients") != "no" || config.bool("tls-cluster") || config.bool("tls-replication"))
            && caFile == nil && caDir == nil {
            log("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!")
            return nil
        }
        // tls-protocols: a space-separated subset of TLSv1 TLSv1.1 TLSv1.2 TLSv1.3 (default 1.2 and 1.3).
        var protocols: Set<String> = ["tlsv1.2", "tlsv1.3"]
        if let p = opt("tls-protocols") {
            protocols = []
            for word in p.split(separator: " ") {
                let w = word.lowercased()
                guard ["tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3"].contains(w) else {
                    log("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.")
                    return nil
                }
                protocols.insert(w)
            }
        }
        // One method for both sides: each connection is put in accept or connect state.
        guard let ctx = SSL_CTX_new(TLS_method()) else { return nil }
        var ok = false
        defer { if !ok { SSL_CTX_free(ctx) } }
        var options = cairn_ssl_op_no_sslv2() | cairn_ssl_op_no_sslv3() | cairn_ssl_op_no_compression()
            | cairn_ssl_op_no_client_renegotiation()
        if !protocols.contains("tlsv1") { options |= cairn_ssl_op_no_tlsv1() }
        if !protocols.contains("tlsv1.1") { options |= cairn_ssl_op_no_tlsv1_1() }
        if !protocols.contains("tlsv1.2") { options |= cairn_ssl_op_no_tlsv1_2() }
        if !protocols.contains("tlsv1.3") { options |= cairn_ssl_op_no_tlsv1_3() }
        if config.bool("tls-prefer-server-ciphers") { options |= cairn_ssl_op_cipher_server_preference() }
        _ = cairn_ssl_ctx_set_options(ctx, options)
        _ = cairn_ssl_ctx_set_mode(ctx, cairn_ssl_mode_partial_writes())
        // Read-ahead: one read(2) takes whatever the socket holds into OpenSSL's buffer, instead of one
        // for each record's 5-byte header and another for its body (a third of the system calls of a
        // request/reply exchange). What it buffers is not seen by epoll: readFrom drains it while
        // SSL_has_pending says so, and beforeSleep comes back to a connection that stopped early.
        _ = cairn_ssl_ctx_set_read_ahead(ctx, 1)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        if config.bool("tls-session-caching") {
            _ = cairn_ssl_ctx_set_session_cache_mode(ctx, cairn_ssl_sess_cache_server())
            _ = cairn_ssl_ctx_sess_set_cache_size(ctx, config.int("tls-session-cache-size"))
            SSL_CTX_set_timeout(ctx, config.int("tls-session-cache-timeout"))
            _ = SSL_CTX_set_session_id_context(ctx, Array("redis".utf8), 5)
        } else {
            _ = cairn_ssl_ctx_set_session_cache_mode(ctx, cairn_ssl_sess_cache_off())
        }
        // The key's passphrase: OpenSSL's default callback reads it from the user data.
        let pass = opt(client ? "tls-client-key-file-pass" : "tls-key-file-pass")
        let passCopy = pass.map { strdup($0) }
        defer { if let p = passCopy { free(p) } }
        SSL_CTX_set_default_passwd_cb_userdata(ctx, passCopy.map { UnsafeMutableRawPointer($0!) })
        ERR_clear_error()
        if SSL_CTX_use_certificate_chain_file(ctx, cert) <= 0 {
            log("Failed to load certificate: \(cert): \(lastError())")
            return nil
        }
        if SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) <= 0 {
            log("Failed to load private key: \(key): \(lastError())")
            return nil
        }
        SSL_CTX_set_default_passwd_cb_userdata(ctx, nil)
        if (caFile != nil || caDir != nil) && SSL_CTX_load_verify_locations(ctx, caFile, caDir) <= 0 {
            log("Failed to configure CA certificate(s) file/directory: \(lastError())")
            return nil
        }
        if let c = opt("tls-ciphers"), SSL_CTX_set_cipher_list(ctx, c) == 0 {
            log("Failed to configure ciphers: \(c)")
            return nil
        }
        if let c = opt("tls-ciphersuites"), SSL_CTX_set_ciphersuites(ctx, c) == 0 {
            log("Failed to configure ciphersuites: \(c)")
            return nil
        }
        if let dh = opt("tls-dh-params-file") {
            if cairn_ssl_ctx_load_dh_params(ctx, dh) != 1 {
                log("Failed to load DH params file: \(dh): \(lastError())")
                return nil
            }
        } else {
            _ = cairn_ssl_ctx_set_dh_auto(ctx, 1)
        }
        ok = true
        return ctx
    }

    static func lastError() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(ERR_get_error(), &buf, buf.count)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The names whose CONFIG SET rebuilds the context.
let tlsContextParameters = ["tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-client-cert-file", "tls-client-key-file",
                            "tls-client-key-file-pass", "tls-dh-params-file", "tls-ca-cert-file", "tls-ca-cert-dir",
                            "tls-protocols", "tls-ciphers", "tls-ciphersuites", "tls-prefer-server-ciphers",
                            "tls-session-caching", "tls-session-cache-size", "tls-session-cache-timeout", "tls-auth-clients"]

extension CairnServer {
    /// At start-up: the TLS context and listeners when tls-port is set (Redis exits when it cannot
    /// configure TLS). Also registers CONFIG SET's reloading.
    func openTLSListeners() throws {
        for name in tlsContextParameters {
            config.onChange[name] = { [unowned self] _ in self.reloadTLS() }
        }
        config.onChange["tls-port"] = { [unowned self] _ in self.rebindTLS() }
        let port = config.int("tls-port")
        if port != 0 || config.bool("tls-cluster") || config.bool("tls-replication") {
            guard let ctx = TLSState.makeContext(config, log: { self.log.warning($0) }) else {
                throw ListenError(description: "Failed to configure TLS. Check logs for more info.")
            }
            tls.ctx = ctx
            tls.clientCtx = makeClientContext()
        }
        guard port != 0 else { return }
        let failed = ListenError(description: "Failed listening on port \(port) (TLS), aborting.")
        let fds: [Int32]
        do { fds = try openTCPListeners(bind: config.bind, port: port) } catch {
            log.warning("\(error)")
            throw failed
        }
        if fds.isEmpty { throw failed }
        for fd in fds { addTLSListener(fd) }
        tls.boundPort = port
    }

    private func addTLSListener(_ fd: Int32) {
        tls.listeners.append(fd)
        listeners.append(fd)
        loop.add(fd) { [unowned self] _, _, _ in self.accept(fd) }
    }

    /// CONFIG SET of a certificate, key or TLS option: a new context for new connections.
    func reloadTLS() -> String? {
        guard config.int("tls-port") != 0 || tls.ctx != nil || config.bool("tls-cluster") || config.bool("tls-replication") else { return nil }
        guard let ctx = TLSState.makeContext(config, log: { self.log.warning($0) }) else {
            return "Unable to update TLS configuration. Check server logs."
        }
        if let old = tls.ctx { SSL_CTX_free(old) }
        if let old = tls.clientCtx { SSL_CTX_free(old) }
        tls.ctx = ctx
        tls.clientCtx = makeClientContext()
        return nil
    }

    /// The client-side context when tls-client-cert-file and tls-client-key-file are both set.
    func makeClientContext() -> OpaquePointer? {
        guard !config.bytes("tls-client-cert-file").isEmpty, !config.bytes("tls-client-key-file").isEmpty else { return nil }
        return TLSState.makeContext(config, client: true, log: { self.log.warning($0) })
    }

    /// CONFIG SET tls-port (or bind, with `force`: the TLS listeners move to the new addresses too).
    func rebindTLS(force: Bool = false) -> String? {
        let port = config.int("tls-port")
        if port == tls.boundPort && !force { return nil }
        if port != 0 && tls.ctx == nil {
            guard let ctx = TLSState.makeContext(config, log: { self.log.warning($0) }) else {
                return "Unable to update TLS configuration. Check server logs."
            }
            tls.ctx = ctx
        }
        let fresh: [Int32]
        do { fresh = try openTCPListeners(bind: config.bind, port: port) } catch {
            log.warning("\(error)")
            return force ? "Failed to bind to specified addresses." : "Unable to listen on this port. Check server logs."
        }
        for fd in tls.listeners {
            loop.remove(fd)
            close(fd)
            listeners.removeAll { $0 == fd }
        }
        tls.listeners = []
        for fd in fresh { addTLSListener(fd) }
        tls.boundPort = port
        return nil
    }

    /// A connection accepted on a TLS listener gets its SSL object (verification per tls-auth-clients).
    func attachTLS(_ conn: Connection, listener: Int32) -> Bool {
        guard tls.listeners.contains(listener) else { return true }
        guard let ctx = tls.ctx, let ssl = SSL_new(ctx) else { return false }
        switch config.enumName("tls-auth-clients") {
        case "no": SSL_set_verify(ssl, SSL_VERIFY_NONE, nil)
        case "optional": SSL_set_verify(ssl, SSL_VERIFY_PEER, nil)
        default: SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
        SSL_set_fd(ssl, conn.fd)
        SSL_set_accept_state(ssl)
        conn.ssl = ssl
        return true
    }

    /// Reads from the connection: the socket, or through its SSL object (which runs the handshake
    /// first). -1 with errno EAGAIN when nothing is there yet; 0 when the peer closed or TLS failed.
    func connectionRead(_ conn: Connection, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        guard let ssl = conn.ssl else { return Glibc.read(conn.fd, buffer, count) }
        ERR_clear_error()
        let n = SSL_read(ssl, buffer, Int32(clamping: count))
        if n > 0 { return Int(n) }
        return tlsOutcome(conn, ssl, n, reading: true)
    }

    /// Writes to the connection; as `write`, -1 with errno EAGAIN when the socket (or TLS) must wait.
    func connectionWrite(_ conn: Connection, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        guard let ssl = conn.ssl else { return Glibc.write(conn.fd, buffer, count) }
        ERR_clear_error()
        let n = SSL_write(ssl, buffer, Int32(clamping: count))
        if n > 0 { return Int(n) }
        return tlsOutcome(conn, ssl, n, reading: false)
    }

    private func tlsOutcome(_ conn: Connection, _ ssl: OpaquePointer, _ n: Int32, reading: Bool) -> Int {
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_WANT_READ:
            errno = EAGAIN
            return -1
        case SSL_ERROR_WANT_WRITE:
            // A read that needs the socket writable (a handshake reply that did not fit): the
            // writable event runs the read again.
            if reading {
                conn.tlsReadWantsWrite = true
                if !conn.wantsWrite { conn.wantsWrite = true; loop.setWritable(conn.fd, true) }
            }
            errno = EAGAIN
            return -1
        case SSL_ERROR_ZERO_RETURN:
            return 0
        default:
            if !SSL_is_init_finished(ssl).boolValue {
                log.warning("Error accepting a client connection: \(TLSState.lastError())")
            }
            errno = ECONNRESET
            return reading ? 0 : -1
        }
    }

    /// Bytes SSL has read from the socket (decrypted or still in records) and not yet handed over:
    /// they will not raise another epoll event.
    func tlsPending(_ conn: Connection) -> Bool {
        guard let ssl = conn.ssl else { return false }
        return SSL_has_pending(ssl) != 0
    }

    /// Before the loop sleeps: connections whose reading stopped with bytes left inside OpenSSL are
    /// read again (Redis's tlsProcessPendingData). Returns true when one made progress and still has
    /// bytes there, so that the next poll does not wait.
    func readTLSPending() -> Bool {
        guard !tlsPendingReads.isEmpty else { return false }
        let batch = tlsPendingReads
        tlsPendingReads.removeAll(keepingCapacity: true)
        var again = false
        for conn in batch {
            conn.tlsPendingQueued = false
            if conn.closed || !tlsPending(conn) { continue }
            let before = stats.netInputBytes
            readFrom(conn)
            // Stopped early again (readFrom queued it) after taking bytes: try again without waiting.
            if conn.tlsPendingQueued && stats.netInputBytes != before { again = true }
        }
        return again
    }

    /// Remembers a connection that stopped reading with bytes left inside OpenSSL.
    func noteTLSPending(_ conn: Connection) {
        if conn.tlsPendingQueued || conn.closed { return }
        conn.tlsPendingQueued = true
        tlsPendingReads.append(conn)
    }

    func freeTLS(_ conn: Connection) {
        if let ssl = conn.ssl {
            SSL_free(ssl)
            conn.ssl = nil
        }
    }
}

private extension Int32 {
    var boolValue: Bool { self != 0 }
}
