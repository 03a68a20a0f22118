// Access control against Debian's redis-server 7.0: a differential script of ACL commands (every rule
// kind of ACL SETUSER, GETUSER, LIST, CAT, WHOAMI, DRYRUN, LOG, AUTH as several users followed by
// allowed and denied commands, keys and channels, MULTI/EXEC) sent over real sockets to both servers,
// with byte-identical replies; the aclfile written by each server loaded by the other; start-up
// refusals; DEBUG gating and protected configs refused as Redis refuses them.
//
// What is masked, and why: ACL LOG's age-seconds and the connection-specific parts of client-info
// (id, addr, ports, fd, memory figures); ACL LIST/GETUSER's trailing single-command rules, which
// Redis emits in its command table's hash order (random per process), so each run of them is
// compared as a set; ACL CAT <category>, listed in that same hash order; GENPASS, compared by length.
import Foundation
import Testing
import TestSupport

/// The same named connections on a cairn-server and a redis-server.
final class ACLPair {
    let cairn: ServerProcess
    let redis: ServerProcess
    var clients: [String: (c: RawClient, r: RawClient)] = [:]

    init(args: [String] = []) throws {
        cairn = try ServerProcess(cairn: true, args: args)
        redis = try ServerProcess(cairn: false, args: args)
    }

    func connection(_ name: String) throws -> (c: RawClient, r: RawClient) {
        if let p = clients[name] { return p }
        let p = (try cairn.client(), try redis.client())
        clients[name] = p
        return p
    }

    /// Runs "<connection> <command>" lines; returns the mismatches (at most 15 described).
    func run(_ script: [String]) throws -> [String] {
        var mismatches: [String] = []
        for line in script {
            let space = line.firstIndex(of: " ")!
            let conn = String(line[..<space]), command = String(line[line.index(after: space)...])
            let (c, r) = try connection(conn)
            let args = argv(command)
            let mine = normalizeACLReply(command, String(decoding: try c.send(args), as: UTF8.self))
            let theirs = normalizeACLReply(command, String(decoding: try r.send(args), as: UTF8.self))
            if mine != theirs && mismatches.count < 15 {
                mismatches.append("\(line)\n  redis: \(theirs.debugDescription)\n  cairn: \(mine.debugDescription)")
            }
        }
        return mismatches
    }
}

/// Masks what may differ between two correct servers (see the file comment).
func normalizeACLReply(_ command: String, _ reply: String) -> String {
    let upper = command.uppercased()
    var lines = reply.components(separatedBy: "\r\n")
    if upper.hasPrefix("ACL GENPASS") {
        return lines.count > 1 ? "genpass of \(lines[1].count) chars" : reply
    }
    if upper.hasPrefix("ACL CAT "), lines.first?.hasPrefix("*") == true {
        // Pairs of "$len" and name lines, compared as a set.
        var names: [String] = []
        var i = 1
        while i + 1 < lines.count { names.append(lines[i + 1]); i += 2 }
        return lines[0] + " " + names.sorted().joined(separator: ",")
    }
    for (i, l) in lines.enumerated() {
        // Runs of single-command rules ("-get -set ...") in Redis's random order: sort each run.
        var tokens = l.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        var j = 0
        while j < tokens.count {
            func single(_ t: String) -> Bool { (t.hasPrefix("+") || t.hasPrefix("-")) && !t.contains("@") }
            if single(tokens[j]) {
                var k = j
                while k < tokens.count && single(tokens[k]) {
                    k += 1
                    if tokens[k - 1].hasSuffix(")") { break }
                }
                // A run may end a selector: sort without its ")" and put it back on the last rule.
                let closes = tokens[k - 1].hasSuffix(")")
                var run = tokens[j ..< k].map { $0.hasSuffix(")") ? String($0.dropLast()) : $0 }.sorted()
                if closes { run[run.count - 1] += ")" }
                tokens.replaceSubrange(j ..< k, with: run)
                j = k
            } else {
                j += 1
            }
        }
        lines[i] = tokens.joined(separator: " ")
        // client-info: keep flags, db, sub/psub, multi, cmd, user, resp; mask the rest.
        if l.hasPrefix("id=") {
            let keep: Set<String> = ["name", "flags", "db", "sub", "psub", "multi", "cmd", "user", "resp"]
            lines[i] = l.split(separator: " ").filter { keep.contains(String($0.split(separator: "=").first ?? "")) }.joined(separator: " ")
            if i > 0 { lines[i - 1] = "$client-info" }
        }
    }
    // HELLO's connection id differs between servers.
    if upper.hasPrefix("HELLO") {
        for i in lines.indices.dropLast() where lines[i] == "id" { lines[i + 1] = ":ID" }
    }
    // Cairn's CLIENT INFO/LIST shows a container's name for cmd= (Redis "client|info"): not an ACL matter.
    if upper.hasPrefix("CLIENT") {
        for i in lines.indices where lines[i].hasPrefix("name=") {
            lines[i] = lines[i].split(separator: " ").filter { !$0.hasPrefix("cmd=") }.joined(separator: " ")
        }
    }
    // age-seconds: the value after its name (a bulk in RESP2: two lines; a double in RESP3: one).
    var i = 0
    while i < lines.count {
        if lines[i] == "age-seconds" && i + 1 < lines.count {
            if lines[i + 1].hasPrefix("$") && i + 2 < lines.count { lines[i + 2] = "AGE"; lines[i + 1] = "$" } else { lines[i + 1] = "AGE" }
        }
        i += 1
    }
    return lines.joined(separator: "\r\n")
}

/// The differential script: setup by "admin", then each user's view.
func aclScript() -> [String] {
    var s: [String] = []
    // Every rule kind, alone and combined, on fresh users: SETUSER, GETUSER and the user's ACL LIST line.
    let rules: [String] = [
        "", "on", "off", "on off", "reset", "on >pw", ">pw >pw >other", ">pw <pw", "<nope", ">a nopass", "nopass >a",
        "#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", "#ABC", "#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 !5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        "!5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", ">x resetpass", "~foo", "~foo ~bar ~foo", "~* ~foo",
        "allkeys", "allkeys resetkeys ~a", "%R~r*", "%W~w*", "%RW~rw*", "%R~k %W~k", "%rw~x", "%RR~x", "%X~x", "%~x", "%R",
        "%R~* ~a", "allkeys %R~a", "&chan", "&a &b &a", "allchannels", "&* &x", "allchannels resetchannels &y",
        "+get", "+GET", "-get", "+get -get", "+@read", "+@READ", "-@read", "+@all", "allcommands", "nocommands",
        "+@all -@dangerous", "+@all -get", "+@all -config|set", "-@all +config|get", "+config", "+config -config|set",
        "+client|list +client|info", "+select|0", "+select|0 +select|1", "+select|a +select|A", "+select|0 -select",
        "+select|", "+config|get|x", "-select|0", "+nosuch", "+@nosuch", "-@nosuch", "+client|nosuch", "bogus",
        "+@read +@write", "+@read -@fast", "+@string +@hash -@write", "+@all -@read -@write", "+@admin",
        "+@keyspace -del", "+@pubsub", "+@transaction", "+@connection +@scripting",
        "skip-sanitize-payload", "sanitize-payload", "(~x +get)", "(~x +get) (%R~y +set)", "(+get", "(~x +get) clearselectors",
        "(&ch +publish)", "(nosuch)", "on >pw ~k* &c* +@all -flushall", "reset on nopass ~* &* +@all",
    ]
    for (i, r) in rules.enumerated() {
        s.append("admin ACL SETUSER r\(i) \(r)")
        s.append("admin ACL GETUSER r\(i)")
    }
    s.append("admin ACL LIST")
    s.append("admin ACL USERS")
    s.append("admin ACL GETUSER default")
    s.append("admin ACL GETUSER nosuch")
    s.append("admin ACL DELUSER " + (0 ..< rules.count).map { "r\($0)" }.joined(separator: " "))
    s.append("admin ACL DELUSER nosuch")
    s.append("admin ACL DELUSER default")
    s.append("admin ACL SETUSER \"a b\" on")
    s.append("admin ACL CAT")
    for c in ["keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo",
              "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction",
              "scripting", "READ", "nosuch"] {
        s.append("admin ACL CAT \(c)")
    }
    s += ["admin ACL GENPASS", "admin ACL GENPASS 1", "admin ACL GENPASS 5", "admin ACL GENPASS 4096", "admin ACL GENPASS 0",
          "admin ACL GENPASS 4097", "admin ACL GENPASS x", "admin ACL WHOAMI", "admin ACL WHOAMI x", "admin ACL NOSUCH",
          "admin ACL", "admin ACL HELP", "admin ACL LOAD", "admin ACL SAVE", "admin ACL LOG RESET", "admin ACL LOG",
          "admin ACL LOG x", "admin ACL LOG -1", "admin ACL LOG 1 2", "admin AUTH x", "admin AUTH a b c",
          "admin AUTH default anything", "admin AUTH nosuch x", "admin HELLO 2 AUTH nosuch x", "admin ACL LOG"]

    // Users whose permissions the script then exercises.
    s += [
        "admin ACL SETUSER reader on >rpw ~r:* %R~shared:* &news.* +@read +@connection -@dangerous",
        "admin ACL SETUSER writer on >wpw %W~w:* ~both:* +@write +@read +@connection -flushall resetchannels &out",
        "admin ACL SETUSER mixed on nopass ~m:* +get +set +select|0 +client|list +multi +exec +subscribe +psubscribe +publish +unsubscribe +punsubscribe &ch:* (~sel:* +hget +hset)",
        "admin ACL SETUSER offuser off >opw +@all ~*",
        "admin ACL SETUSER nopw on ~* +@all",
        "admin SET r:1 v", "admin SET shared:1 v", "admin SET w:1 v", "admin SET m:1 v", "admin HSET sel:1 f v",
        "admin LPUSH both:list a b",
    ]
    func asUser(_ conn: String, _ auth: String, _ commands: [String]) {
        s.append("\(conn) \(auth)")
        for c in commands { s.append("\(conn) \(c)") }
    }
    let probes = [
        "GET r:1", "GET shared:1", "GET w:1", "GET m:1", "GET other", "SET r:1 x", "SET shared:1 x", "SET w:1 y",
        "SET both:x y", "GETDEL w:1", "DEL r:1", "DEL w:1", "MGET r:1 shared:1", "MGET r:1 other", "COPY r:1 w:2",
        "COPY w:1 w:2", "LMOVE both:list w:l LEFT RIGHT", "LRANGE both:list 0 -1", "HGET sel:1 f", "HSET sel:1 f v2",
        "HGET m:1 f", "HGETALL sel:1", "STRLEN shared:1", "APPEND w:1 z", "EXISTS r:1 w:1", "TYPE r:1",
        "PUBLISH news.today hi", "PUBLISH out hi", "PUBLISH ch:1 hi", "PUBLISH other hi", "SELECT 0", "SELECT 1",
        "CLIENT GETNAME", "CLIENT INFO", "CONFIG GET maxmemory", "CONFIG SET maxmemory 0", "FLUSHALL", "KEYS *", "DBSIZE",
        "ACL WHOAMI", "ACL LIST", "ACL LOG", "PING", "ECHO hi", "MULTI", "GET m:1", "GET other", "EXEC", "MULTI",
        "GET m:1", "EXEC", "SUBSCRIBE news.x", "UNSUBSCRIBE", "SUBSCRIBE other", "PSUBSCRIBE ch:*", "PUNSUBSCRIBE",
        "PSUBSCRIBE ch:1*", "SUBSCRIBE ch:5", "UNSUBSCRIBE", "OBJECT ENCODING r:1", "SORT both:list ALPHA",
        "SORT both:list ALPHA STORE w:sorted", "SORT both:list ALPHA STORE x:sorted", "RENAME w:1 w:3",
    ]
    asUser("u1", "AUTH reader rpw", probes)
    asUser("u2", "AUTH writer wpw", probes)
    asUser("u3", "AUTH mixed anything", probes)
    asUser("u4", "AUTH offuser opw", ["GET r:1", "ACL WHOAMI"])
    asUser("u5", "AUTH nopw", ["GET r:1", "ACL WHOAMI"])
    asUser("u6", "AUTH reader wrong", ["ACL WHOAMI"])
    asUser("u7", "HELLO 2 AUTH writer wpw SETNAME w7", ["ACL WHOAMI", "CLIENT GETNAME"])
    asUser("u8", "HELLO 3 AUTH writer bad", ["ACL WHOAMI"])
    asUser("u9", "AUTH reader rpw", ["RESET", "ACL WHOAMI", "AUTH rpw", "AUTH reader rpw", "ACL WHOAMI", "AUTH default x", "ACL WHOAMI"])
    // Rules changing under an open transaction and a subscribed client.
    s += ["u10 AUTH writer wpw", "u10 MULTI", "u10 SET w:9 a", "u10 GET w:9", "admin ACL SETUSER writer -get", "u10 EXEC",
          "u10 MULTI", "u10 SET w:9 b", "admin ACL SETUSER writer resetkeys ~zz", "u10 EXEC", "u10 MULTI", "u10 PUBLISH out x",
          "admin ACL SETUSER writer resetchannels", "u10 EXEC"]
    // DRYRUN.
    for c in ["reader GET r:1", "reader GET w:1", "reader SET shared:1 v", "reader SET r:1", "reader DEL r:1",
              "reader PUBLISH news.x m", "reader PUBLISH out m", "reader CONFIG GET x", "reader CONFIG nosub",
              "writer SET w:1 v", "writer GET w:1", "writer LMOVE both:list w:x LEFT LEFT", "mixed HGET sel:1 f",
              "mixed HGET m:1 f", "mixed SELECT 0", "mixed SELECT 1", "mixed CLIENT LIST", "mixed CLIENT INFO",
              "nosuch GET x", "reader NOSUCH x", "reader GET", "default FLUSHALL", "reader SUBSCRIBE news.a other",
              "reader PSUBSCRIBE news.*", "mixed PSUBSCRIBE ch:*", "mixed AUTH x y"] {
        s.append("admin ACL DRYRUN \(c)")
    }
    s += ["admin ACL LOG", "admin ACL LOG 3", "admin ACL LOG 200", "admin CONFIG SET acllog-max-len 2", "admin ACL LOG", "admin ACL LOG 200", "u1 GET nokey", "admin ACL LOG 200",
          "admin ACL LOG 200", "admin CONFIG SET acllog-max-len 128", "admin ACL LOG RESET", "admin ACL LOG"]
    // RESP3 shapes (maps, sets, doubles) and acl-pubsub-default.
    s += ["h3 HELLO 3", "h3 ACL GETUSER mixed", "h3 ACL GETUSER nosuch", "h3 ACL LOG 2", "h3 ACL CAT", "h3 ACL DRYRUN reader GET x",
          "admin CONFIG SET acl-pubsub-default allchannels", "admin ACL SETUSER pd on", "admin ACL SETUSER pd2 reset",
          "admin ACL SETUSER pd3 (+get) resetchannels", "admin ACL LIST", "admin CONFIG SET acl-pubsub-default resetchannels",
          "admin ACL SETUSER pd4 reset", "admin ACL GETUSER pd4", "admin ACL DELUSER pd pd2 pd3 pd4"]
    // CLIENT LIST's user= for a named client.
    s += ["u11 AUTH reader rpw", "u11 CLIENT SETNAME listed", "u11 CLIENT INFO", "admin ACL LIST"]
    return s
}

@Suite(.serialized, .enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"))
struct ACLTests {
    @Test func differentialScriptGivesIdenticalReplies() throws {
        let pair = try ACLPair()
        let script = aclScript()
        #expect(script.count > 300)
        let mismatches = try pair.run(script)
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches:\n\(mismatches.joined(separator: "\n"))")
    }

    /// requirepass is the default user's password; AUTH, HELLO and NOAUTH as in Redis; ACL SETUSER
    /// default takes over.
    @Test func requirepassAndDefaultUser() throws {
        let pair = try ACLPair(args: ["--requirepass", "secret"])
        let mismatches = try pair.run([
            "a GET x", "a ACL WHOAMI", "a HELLO 3", "a AUTH wrong", "a AUTH default wrong", "a AUTH secret", "a ACL LIST",
            "a CONFIG SET requirepass other", "a ACL LIST", "b AUTH secret", "b AUTH other", "b ACL SETUSER default nopass",
            "c GET x", "c ACL LOG", "a CONFIG SET requirepass \"\"", "a ACL LIST", "a ACL SETUSER default off",
            "d GET x", "d AUTH default x", "a ACL SETUSER default on resetpass >p2", "d AUTH p2", "d ACL WHOAMI",
        ])
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    /// Deleting a user disconnects its clients (the caller after its reply); a user losing a channel
    /// disconnects its subscribed clients. Checked on both servers.
    @Test func deletedAndRestrictedUsersAreDisconnected() throws {
        for cairn in [true, false] {
            let s = try ServerProcess(cairn: cairn)
            let admin = try s.client()
            #expect(try admin.send("ACL SETUSER gone on >p ~* &* +@all") == "+OK\r\n")
            let victim = try s.client(), selfDeleter = try s.client(), subscriber = try s.client()
            #expect(try victim.send("AUTH gone p") == "+OK\r\n")
            #expect(try selfDeleter.send("AUTH gone p") == "+OK\r\n")
            #expect(try selfDeleter.send("ACL DELUSER gone") == ":1\r\n")
            #expect(selfDeleter.isClosedByServer(), "cairn=\(cairn)")
            #expect(victim.isClosedByServer(), "cairn=\(cairn)")
            #expect(try admin.send("ACL SETUSER sub on >p ~* resetchannels &keep &drop +@all") == "+OK\r\n")
            #expect(try subscriber.send("AUTH sub p") == "+OK\r\n")
            _ = try subscriber.send("SUBSCRIBE drop")
            #expect(try admin.send("ACL SETUSER sub resetchannels &keep") == "+OK\r\n")
            #expect(subscriber.isClosedByServer(), "cairn=\(cairn)")
        }
    }

    /// ACL SAVE from each server loads into the other (ACL LOAD and at start-up), giving the same ACL LIST.
    @Test func aclFileRoundTrip() throws {
        let dir = NSTemporaryDirectory() + "cairn-aclfile-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let users = [
            "ACL SETUSER alice on >pw1 >pw2 ~a:* %R~r:* %W~w:* &chan:* +@read +@write -del +select|0",
            "ACL SETUSER bob off nopass allkeys allchannels +@all -@dangerous",
            "ACL SETUSER carol on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 (~x +get) (%R~y +@hash)",
            "ACL SETUSER default on >defpw ~* &* +@all",
        ]
        for (writer, reader) in [(true, false), (false, true)] {
            let file = dir + "/users-\(writer ? "cairn" : "redis").acl"
            _ = FileManager.default.createFile(atPath: file, contents: Data())
            let w = try ServerProcess(cairn: writer, args: ["--aclfile", file])
            let wc = try w.client()
            for u in users { #expect(try wc.send(u) == "+OK\r\n") }
            #expect(try wc.send("AUTH defpw") == "+OK\r\n")
            #expect(try wc.send("ACL SAVE") == "+OK\r\n")
            let listed = normalizeACLReply("ACL LIST", try wc.send("ACL LIST"))
            // At start-up.
            let r = try ServerProcess(cairn: reader, args: ["--aclfile", file])
            let rc = try r.client()
            #expect(try rc.send("AUTH defpw") == "+OK\r\n")
            #expect(normalizeACLReply("ACL LIST", try rc.send("ACL LIST")) == listed, "written by \(writer ? "cairn" : "redis")")
            // By ACL LOAD, after changing the users.
            #expect(try rc.send("ACL SETUSER extra on") == "+OK\r\n")
            #expect(try rc.send("ACL LOAD") == "+OK\r\n")
            #expect(normalizeACLReply("ACL LIST", try rc.send("ACL LIST")) == listed)
        }
    }

    /// ACL LOAD of a bad file: the same error, and nothing changes; a bad aclfile stops start-up.
    @Test func badACLFile() throws {
        let dir = NSTemporaryDirectory() + "cairn-badacl-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bad = "user default on nopass ~* &* +@all\nuser bad on +nosuch +alsonot\nfoo bar\nuser x on >p ~a\nuser x off\n"
            + "user y on #abc %Q~z\n\n# comment\nuser z (+get\nuser\n"
        var replies: [String] = []
        for cairn in [true, false] {
            let file = dir + "/\(cairn ? "c" : "r").acl"
            _ = FileManager.default.createFile(atPath: file, contents: Data("user default on nopass ~* &* +@all\n".utf8))
            let s = try ServerProcess(cairn: cairn, args: ["--aclfile", file])
            let c = try s.client()
            try Data(bad.utf8).write(to: URL(fileURLWithPath: file))
            replies.append(try c.send("ACL LOAD").replacingOccurrences(of: file, with: "FILE"))
            #expect(try c.send("ACL USERS") == "*1\r\n$7\r\ndefault\r\n")
            let refusal = try runCairnExpectingRefusal(["--aclfile", file], dir: dir)
            #expect(refusal?.status == 1)
            #expect(refusal?.log.contains("Aborting Redis startup because of ACL errors: \(file):2: Error in applying operation '+nosuch'") == true)
        }
        #expect(replies[0] == replies[1], "\(replies)")
        let missing = try runCairnExpectingRefusal(["--aclfile", dir + "/none.acl"], dir: dir)
        #expect(missing?.status == 1)
        #expect(missing?.log.contains("Aborting Redis startup because of ACL errors: Error loading ACLs, opening file '\(dir)/none.acl': No such file or directory") == true)
        let both = try runCairnExpectingRefusal(["--aclfile", dir + "/c.acl", "--user", "alice"], dir: dir)
        #expect(both?.status == 1)
    }

    /// AOF replay at start-up runs as no user (as Redis's loading client): a default user without
    /// permissions does not stop the data from loading.
    @Test func aofReplayIgnoresPermissions() throws {
        let dir = NSTemporaryDirectory() + "cairn-aclaof-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let s = try ServerProcess(args: ["--appendonly", "yes"], dir: dir)
            let c = try s.client()
            #expect(try c.send("SET k v") == "+OK\r\n")
            #expect(try c.send("RPUSH l a b c") == ":3\r\n")
            s.terminate()
        }
        let acl = dir + "/users.acl"
        try Data("user default on nopass resetchannels -@all\nuser admin on nopass ~* &* +@all\n".utf8).write(to: URL(fileURLWithPath: acl))
        let s = try ServerProcess(args: ["--appendonly", "yes", "--aclfile", acl], dir: dir)
        let c = try s.client()
        #expect(try c.send("GET k") == "-NOPERM this user has no permissions to run the 'get' command\r\n")
        #expect(try c.send("AUTH admin x") == "+OK\r\n")
        #expect(try c.send("GET k") == "$1\r\nv\r\n")
        #expect(try c.send("LLEN l") == ":3\r\n")
    }

    /// redis.conf "user" lines define users at start-up.
    @Test func userDirectivesInConfig() throws {
        let dir = NSTemporaryDirectory() + "cairn-userconf-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let conf = dir + "/users.conf"
        try Data("user alice on >pw ~a:* +@all\nuser default on nopass ~* &* +@all -flushall\n".utf8)
            .write(to: URL(fileURLWithPath: conf))
        var lists: [String] = []
        for cairn in [true, false] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: cairn ? Paths.cairnServer : Paths.redisServer)
            let port = freeLoopbackPort()
            p.arguments = [conf, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir, "--logfile", dir + "/log-\(cairn)"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
            var client: RawClient? = nil
            for _ in 0 ..< 500 where client == nil {
                client = try? RawClient(port: port)
                if client == nil { usleep(20_000) }
            }
            guard let c = client else { Issue.record("server did not start"); continue }
            lists.append(normalizeACLReply("ACL LIST", try c.send("ACL LIST")) + (try c.send("FLUSHALL")) + (try c.send("AUTH alice pw")))
        }
        #expect(lists.count == 2 && lists[0] == lists[1], "\(lists)")
    }

    /// Passwords and ACL rules never reach MONITOR or SLOWLOG: "(redacted)" as in Redis, and ACL's
    /// admin subcommands stay out of MONITOR.
    @Test func monitorAndSlowlogRedactSecrets() throws {
        var seen: [String] = []
        for cairn in [true, false] {
            let s = try ServerProcess(cairn: cairn)
            let monitor = try s.client(), c = try s.client()
            #expect(try monitor.send("MONITOR") == "+OK\r\n")
            let commands = ["AUTH default secret1", "ACL SETUSER zz on >secret2 ~* &* +@all", "HELLO 2 AUTH zz secret2", "ACL WHOAMI",
                            "ACL GETUSER zz", "CONFIG SET requirepass secret3 masterauth secret4", "AUTH secret3", "PING"]
            for line in commands { _ = try c.send(line) }
            var lines: [String] = []
            for _ in 0 ..< 5 {
                let l = String(decoding: try monitor.readReply(), as: UTF8.self)
                lines.append(String(l[l.range(of: "] ")!.upperBound...]))
            }
            _ = try c.send("CONFIG SET slowlog-log-slower-than 0")
            _ = try c.send("SLOWLOG RESET")
            for line in commands { _ = try c.send(line) }
            let slowlog = try c.send("SLOWLOG GET 20")
            // Keep the argument texts only (drop ids, times, durations, addresses).
            lines += slowlog.components(separatedBy: "\r\n").filter {
                !$0.hasPrefix("*") && !$0.hasPrefix(":") && !$0.hasPrefix("$") && !$0.hasPrefix("127.0.0.1")
            }
            let text = lines.joined(separator: "\n")
            #expect(!text.contains("secret"), "cairn=\(cairn): \(text)")
            seen.append(text)
        }
        #expect(seen[0] == seen[1], "\(seen)")
    }

    /// DEBUG is refused unless enable-debug-command allows it; dir and dbfilename are protected configs.
    @Test func debugGatingAndProtectedConfigs() throws {
        let refused = try ACLPair(args: ["--enable-debug-command", "no"])
        var mismatches = try refused.run([
            "a DEBUG SLEEP 0", "a DEBUG HELP", "a DEBUG", "a CONFIG SET dir /tmp", "a CONFIG SET dbfilename x.rdb",
            "a CONFIG SET maxmemory 0 dir /tmp", "a CONFIG SET enable-protected-configs yes", "a CONFIG GET enable-debug-command",
            "a MULTI", "a DEBUG SLEEP 0", "a EXEC",
        ])
        let local = try ACLPair(args: ["--enable-debug-command", "local", "--enable-protected-configs", "local"])
        mismatches += try local.run(["a DEBUG SLEEP 0", "a CONFIG SET dbfilename y.rdb", "a CONFIG GET dbfilename"])
        let allowed = try ACLPair(args: ["--enable-protected-configs", "yes"])
        mismatches += try allowed.run(["a CONFIG SET dbfilename z.rdb", "a CONFIG GET dbfilename", "a CONFIG SET dbfilename ../x"])
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }
}
