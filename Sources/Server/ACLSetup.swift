// The server's side of access control: the users of redis.conf's "user" lines or of the aclfile at
// start-up (errors stop start-up with Redis's message), ACL LOAD / ACL SAVE on that file, and the
// settings the engine's checks read (acllog-max-len, acl-pubsub-default, enable-debug-command).
#if canImport(Glibc)
import Glibc
#endif
import Engine
import StorageFormat

extension CairnServer {
    /// Wires the ACL settings and file hooks (called from init).
    func setUpAccessControl() {
        let acl = engine.acl
        acl.debugCommand = ProtectedAction(rawValue: config.enumName("enable-debug-command")) ?? .no
        acl.logMaxLen = config.int("acllog-max-len")
        acl.pubsubDefaultAllChannels = config.enumName("acl-pubsub-default") == "allchannels"
        config.onChange["acllog-max-len"] = { [unowned self] c in
            // As in Redis, a shorter limit trims the log at its next entry.
            self.engine.acl.logMaxLen = c.int("acllog-max-len")
            return nil
        }
        config.onChange["acl-pubsub-default"] = { [unowned self] c in
            self.engine.acl.pubsubDefaultAllChannels = c.enumName("acl-pubsub-default") == "allchannels"
            return nil
        }
        config.aclUserLines = { [unowned self] in
            self.engine.acl.sortedUsers.map { Array("user ".utf8) + $0.name + [32] + $0.describe() }
        }
        let path = config.string("aclfile")
        guard !path.isEmpty else { return }
        acl.loadFile = { [unowned self] in self.loadACLFile(path) }
        acl.saveFile = { [unowned self] in self.saveACLFile(path) }
    }

    /// Users at start-up: the aclfile, or redis.conf's user lines (not both). False stops start-up.
    func loadUsersAtStart() -> Bool {
        let path = config.string("aclfile")
        if !path.isEmpty && !config.userDirectives.isEmpty {
            log.warning("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.")
            return false
        }
        for d in config.userDirectives {
            let name = d[0]
            if AccessControl.hasSpaces(name) {
                log.warning("Spaces not allowed in ACL usernames")
                log.warning("Critical error while loading ACLs. Exiting.")
                return false
            }
            // An existing user (default) starts over from "reset"; a new one from a fresh user.
            let reset: [[UInt8]] = engine.acl.user(named: name) == nil ? [] : [Array("reset".utf8)]
            if let err = engine.acl.setUser(name, reset + Array(d.dropFirst())) {
                log.warning("Error in user declaration '\(String(decoding: name, as: UTF8.self))': \(err)")
                log.warning("Critical error while loading ACLs. Exiting.")
                return false
            }
        }
        if !path.isEmpty, let err = loadACLFile(path) {
            log.warning("Aborting Redis startup because of ACL errors: \(err)")
            return false
        }
        return true
    }

    /// ACL LOAD: replaces every user with the file's (all or nothing); clients of the replaced users
    /// are disconnected. Returns Redis's error text, or nil.
    func loadACLFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            return "Error loading ACLs, opening file '\(path)': \(String(cString: strerror(errno)))"
        }
        var text: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            text += buf[0 ..< n]
        }
        close(fd)
        switch engine.acl.parseUsers(text, path: path) {
        case .failure(let err): return err
        case .users(let users):
            let replaced = engine.acl.install(users)
            engine.disconnectClients(of: replaced)
            // Clients of the default user stay, and keep their authentication.
            return nil
        }
    }

    /// ACL SAVE: the users, one line each, replacing the aclfile atomically and durably.
    func saveACLFile(_ path: String) -> String? {
        do throws(FileError) {
            try DurableFile.replace(path, with: engine.acl.fileText())
            return nil
        } catch {
            log.warning("Saving the ACL file for ACL SAVE failed (\(error.operation.rawValue) \(error.path)): \(error.reason)")
            return error.reason
        }
    }
}
