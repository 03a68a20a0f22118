// Where access control meets dispatch: the checks `Engine.execute` makes before running a command
// (DEBUG gating, NOAUTH, ACL permissions, in Redis's order), authentication, the ACL LOG entries
// for refusals, and disconnecting clients whose user was deleted, reloaded or lost a channel.

/// enable-debug-command / enable-protected-configs values.
public enum ProtectedAction: String, Sendable {
    case no, yes, local
}

extension AccessControl {
    /// The user a session runs as.
    @inline(__always) public func userOf(_ s: Session) -> ACLUser { s.user ?? defaultUser }
}

extension Engine {
    /// True when `session` may run `spec` with `args`; otherwise replies the refusal (and logs it).
    func admit(_ session: Session, _ spec: CommandSpec, _ args: [[UInt8]]) -> Bool {
        if spec.isDebug && !protectedActionAllowed(acl.debugCommand, session) {
            reject(session, spec, "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.")
            return false
        }
        if !session.authenticated && !acl.defaultAutoAuth && !spec.flags.contains(.noAuth) {
            reject(session, spec, "NOAUTH Authentication required.")
            return false
        }
        if acl.sessionUnrestricted(session) { return true }
        let user = acl.userOf(session)
        guard let (denial, index) = permissionDenial(user, spec, args) else { return true }
        logDenial(session, denial, index: index, args: args, spec: spec, context: session.multi != nil ? "multi" : "toplevel")
        let message: String
        switch denial {
        case .command: message = "NOPERM this user has no permissions to run the '\(fullName(spec, args))' command"
        case .key: message = "NOPERM this user has no permissions to access one of the keys used as arguments"
        case .channel: message = "NOPERM this user has no permissions to access one of the channels used as arguments"
        case .auth: message = "NOPERM no permission"
        }
        if spec.name == "exec" {
            // A refused EXEC discards the transaction, as Redis does.
            session.multi = nil
            session.multiFailed = false
            unwatchAll(session)
            reject(session, spec, "EXECABORT Transaction discarded because of: " + message)
        } else {
            reject(session, spec, message)
        }
        return false
    }

    /// True when some selector of the session's user both allows this command line and grants
    /// `flags` access to every key (all keys, or a `*` pattern with those flags): what SORT asks before
    /// it lets BY and GET patterns read keys it cannot name in advance.
    func hasUnrestrictedKeyAccess(_ session: Session, _ spec: CommandSpec, _ args: [[UInt8]], flags: UInt8) -> Bool {
        let user = acl.userOf(session)
        if user.unrestricted { return true }
        guard let id = acl.commandID(spec.name, args) else { return false }
        let request = ACLRequest(commandID: id, args: args)
        for s in user.state.selectors where s.check(request) == nil {
            if s.allKeys { return true }
            if s.patterns.contains(where: { $0.flags & flags == flags && $0.pattern == [UInt8(ascii: "*")] }) { return true }
        }
        return false
    }

    /// The denial for running `args` as `user`, or nil when allowed (or not checkable: an unknown
    /// subcommand or wrong subcommand arity, which the handler then reports as Redis does first).
    func permissionDenial(_ user: ACLUser, _ spec: CommandSpec, _ args: [[UInt8]]) -> (ACLDenial, Int)? {
        if user.unrestricted { return nil }
        guard let id = acl.commandID(spec.name, args) else {
            // A command the table lacks runs only for users allowed every command.
            if ACLCommandTable.shared.byName[spec.name] == nil && !user.state.selectors.contains(where: { $0.allCommands }) {
                return (.command, 0)
            }
            return nil
        }
        return acl.check(user, commandID: id, args: args)
    }

    /// "get", or "config|get" for a container's subcommand, as Redis names a command in errors.
    func fullName(_ spec: CommandSpec, _ args: [[UInt8]]) -> String {
        if let id = acl.commandID(spec.name, args) { return ACLCommandTable.shared.names[id] }
        return spec.name
    }

    /// EXEC re-checks each queued command: the refusal text when the rules changed since it was queued.
    func transactionDenial(_ session: Session, _ spec: CommandSpec, _ args: [[UInt8]]) -> String? {
        let user = acl.userOf(session)
        guard let (denial, index) = permissionDenial(user, spec, args) else { return nil }
        logDenial(session, denial, index: index, args: args, spec: spec, context: "multi")
        let reason: String
        switch denial {
        case .command: reason = "no permission to execute the command or subcommand"
        case .key: reason = "no permission to touch the specified keys"
        case .channel: reason = "no permission to access one of the channels used as arguments"
        case .auth: reason = "no permission"
        }
        return "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: \(reason)"
    }

    func logDenial(_ session: Session, _ denial: ACLDenial, index: Int, args: [[UInt8]], spec: CommandSpec, context: String) {
        let object: [UInt8]
        switch denial {
        case .command: object = Array(fullName(spec, args).utf8)
        case .key, .channel: object = args[index]
        case .auth: object = args[0]
        }
        let saved = session.lastCommand
        session.lastCommand = fullName(spec, args)
        acl.addLogEntry(reason: denial, context: context, object: object, username: acl.userOf(session).name, now: now,
                        clientInfo: ConnectionCommands.clientLine(self, session))
        session.lastCommand = saved
    }

    /// AUTH / HELLO AUTH: switches the session to `user` when the password fits (or the user has
    /// nopass) and the user is enabled; logs the failure otherwise.
    public func authenticate(_ session: Session, user name: [UInt8], password: [UInt8], command: [UInt8]) -> Bool {
        if let u = acl.user(named: name), u.isEnabled, u.hasNoPass || u.passwordMatches(password) {
            session.user = u === acl.defaultUser ? nil : u
            session.authenticated = true
            return true
        }
        let context = session.multi != nil || executingTransaction ? "multi" : "toplevel"
        acl.addLogEntry(reason: .auth, context: context, object: command, username: name, now: now,
                        clientInfo: ConnectionCommands.clientLine(self, session))
        return false
    }

    /// enable-debug-command: whether this session may run DEBUG.
    func protectedActionAllowed(_ setting: ProtectedAction, _ s: Session) -> Bool {
        switch setting {
        case .yes: return true
        case .no: return false
        case .local: return Engine.isLocal(s)
        }
    }

    /// A client on loopback or a Unix socket (or in-process, with no address) counts as local.
    public static func isLocal(_ s: Session) -> Bool {
        let a = s.address
        return a.isEmpty || a.hasPrefix("127.") || a.hasPrefix("[::1]") || a.hasPrefix("/") || a.hasPrefix("[::ffff:127.")
    }

    /// Disconnects every client authenticated as one of `users` (after the current reply, for the
    /// caller itself): they lose their user and authentication, as in Redis.
    public func disconnectClients(of users: [ACLUser]) {
        guard !users.isEmpty else { return }
        for s in sessions.values {
            guard let u = s.user, users.contains(where: { $0 === u }) else { continue }
            s.user = nil
            s.authenticated = false
            s.closeAfterReply = true
            s.wakeup?()
        }
    }

    /// After ACL SETUSER changed `user`: pub/sub clients of it subscribed to a channel (shard channels
    /// included) or pattern
    /// the new rules no longer allow are disconnected.
    func disconnectPubsubClientsIfNeeded(_ user: ACLUser, old: ACLUser.State) {
        guard !channels.isEmpty || !patterns.isEmpty || !shardChannels.isEmpty else { return }
        guard let upcoming = AccessControl.channelPatterns(user.state) else { return }
        if let before = AccessControl.channelPatterns(old), before.allSatisfy({ upcoming.contains($0) }) { return }
        func allowed(_ c: [UInt8], pattern: Bool) -> Bool {
            upcoming.contains { pattern ? $0 == c : globMatch(pattern: $0, string: c, noCase: false) }
        }
        for s in sessions.values where s.user === user && s.subscriptionCount > 0 {
            let lost = s.patterns.contains { !allowed($0.bytes, pattern: true) }
                || s.channels.contains { !allowed($0.bytes, pattern: false) }
                || s.shardChannels.contains { !allowed($0.bytes, pattern: false) }
            if lost {
                unsubscribeAll(s)
                s.closeAfterReply = true
                s.wakeup?()
            }
        }
    }
}

extension Engine {
    static let redacted = Array("(redacted)".utf8)

    /// A command line as MONITOR and SLOWLOG may show it: passwords and ACL rules replaced with
    /// "(redacted)" as Redis does (AUTH, HELLO ... AUTH, ACL SETUSER, CONFIG SET of requirepass and
    /// masterauth). Nil for MONITOR when the (sub)command is an admin one Redis keeps out of MONITOR.
    func redactedForLogs(_ args: [[UInt8]], monitor: Bool) -> [[UInt8]]? {
        guard let first = args.first, first.count <= 8 else { return args }
        let name = lowercasedName(first)
        var out = args
        switch name {
        case "auth":
            for i in 1 ..< out.count { out[i] = Engine.redacted }
        case "hello":
            var i = 2
            while i < out.count {
                if lowercasedName(out[i]) == "auth" && i + 2 < out.count {
                    out[i + 1] = Engine.redacted
                    out[i + 2] = Engine.redacted
                    i += 3
                } else {
                    i += 1
                }
            }
        case "acl":
            if monitor, out.count > 1, CommandMetadata.lookup("acl|" + lowercasedName(out[1]))?.hasFlag("admin") == true { return nil }
            if out.count > 2 && lowercasedName(out[1]) == "setuser" {
                for i in 2 ..< out.count { out[i] = Engine.redacted }
            }
        case "config":
            if out.count > 3 && lowercasedName(out[1]) == "set" {
                var i = 2
                while i + 1 < out.count {
                    let p = lowercasedName(out[i])
                    if p == "requirepass" || p == "masterauth" || p == "tls-key-file-pass" || p == "tls-client-key-file-pass" {
                        out[i + 1] = Engine.redacted
                    }
                    i += 2
                }
            }
        case "migrate":
            // AUTH's password, AUTH2's user and password, among the options before KEYS.
            var i = 6
            while i < out.count {
                let opt = lowercasedName(out[i])
                if opt == "keys" { break }
                if opt == "auth" && i + 1 < out.count {
                    out[i + 1] = Engine.redacted
                    i += 1
                } else if opt == "auth2" && i + 2 < out.count {
                    out[i + 1] = Engine.redacted
                    out[i + 2] = Engine.redacted
                    i += 2
                }
                i += 1
            }
        default: break
        }
        return out
    }
}
