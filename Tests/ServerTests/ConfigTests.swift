// Configuration: the parameter table against a real redis-server 7.0 (defaults, CONFIG SET errors
// and round trips), the config file and argv parser (quotes, includes, aliases, units, start-up
// error texts), and CONFIG REWRITE.
import Foundation
import Testing
@testable import Engine
@testable import Server
import StorageFormat
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

private func write(_ path: String, _ text: String) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
}

private func load(_ text: String, _ args: [String] = []) throws -> ServerConfig {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    write(dir + "/c.conf", text)
    return try loadConfig(arguments: [dir + "/c.conf"] + args)
}

private func loadError(_ text: String, _ args: [String] = []) -> ConfigError? {
    do {
        _ = try load(text, args)
        return nil
    } catch let e as ConfigError {
        return e
    } catch {
        return nil
    }
}

/// Parameters whose value depends on the host or on how the oracle was started.
private let hostSpecific: Set<String> = ["dir", "logfile", "port", "save", "pidfile", "maxclients"]

@Suite struct ConfigFileTests {
    @Test func defaults() throws {
        let c = ServerConfig()
        #expect(c.port == 6379)
        #expect(c.bind == ["*", "-::*"])
        #expect(c.databases == 16)
        #expect(c.saveParams.map { [$0.seconds, $0.changes] } == [[3600, 1], [300, 100], [60, 10000]])
        #expect(c.text("save") == Array("3600 1 300 100 60 10000".utf8))
        #expect(c.requirepass == nil)
        #expect(c.protoMaxBulkLen == 512 << 20)
        #expect(c.clientQueryBufferLimit == 1 << 30)
        #expect(c.clientOutputBufferLimit.replica == ClientBufferLimit(hard: 256 << 20, soft: 64 << 20, softSeconds: 60))
        #expect(c.appendfsync == "everysec")
        #expect(c.loglevel == "notice")
        #expect(c.engineConfig.hashMaxListpackEntries == 512)
        #expect(c.engineConfig.listMaxListpackSize == -2)
    }

    @Test func quotesCommentsAndCase() throws {
        let c = try load("""
            # a comment
               # indented comment

            PORT 7001
            requirepass "a b\\x41\\n"
            masteruser 'it\\'s'
            Hash-Max-Ziplist-Entries 7
            notify-keyspace-events "KEA"\r
            """)
        #expect(c.port == 7001)
        #expect(c.requirepass == Array("a bA\n".utf8))
        #expect(c.string("masteruser") == "it's")
        #expect(c.int("hash-max-listpack-entries") == 7)
        #expect(c.engineConfig.hashMaxListpackEntries == 7)
        #expect(c.text("notify-keyspace-events") == Array("AKE".utf8))
    }

    @Test func memoryUnits() throws {
        let c = try load("maxmemory 1k\nproto-max-bulk-len 2MB\nclient-query-buffer-limit 1gB\nhash-max-listpack-value 1Kb\nzset-max-listpack-value 3b\nauto-aof-rewrite-min-size 1G\nrepl-backlog-size 5m\n")
        #expect(c.maxmemory == 1000)
        #expect(c.protoMaxBulkLen == 2 << 20)
        #expect(c.clientQueryBufferLimit == 1 << 30)
        #expect(c.int("hash-max-listpack-value") == 1024)
        #expect(c.int("zset-max-listpack-value") == 3)
        #expect(c.int("auto-aof-rewrite-min-size") == 1_000_000_000)
        #expect(c.int("repl-backlog-size") == 5_000_000)
    }

    @Test func saveLinesAccumulateInFiles() throws {
        let c = try load("save 900 1\nsave 300 10\n")
        #expect(c.text("save") == Array("900 1 300 10".utf8))
        let d = try load("save \"\"\nsave 5 5\n")
        #expect(d.text("save") == Array("5 5".utf8))
        let e = try load("save \"60 1 30 2\"\n")
        #expect(e.text("save") == Array("60 1 30 2".utf8))
        let f = try load("port 1\n", ["--save", ""])
        #expect(f.saveParams.isEmpty)
        let g = try load("port 1\n", ["--save"])
        #expect(g.saveParams.isEmpty)
        let h = try load("port 1\n", ["--save", "--port", "7"])
        #expect(h.saveParams.isEmpty && h.port == 7)
    }

    @Test func includesAndGlobs() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/conf.d", withIntermediateDirectories: true)
        write(dir + "/conf.d/a.conf", "hz 20\n")
        write(dir + "/conf.d/b.conf", "timeout 30\nsave 10 1\n")
        write(dir + "/inc.conf", "port 7002\nsave 20 2\n")
        write(dir + "/main.conf", "save 30 3\ninclude \(dir)/inc.conf\ninclude \(dir)/conf.d/*.conf\ninclude \(dir)/empty.d/*.conf\nmaxclients 50\n")
        let c = try loadConfig(arguments: [dir + "/main.conf", "--maxclients", "60"])
        #expect(c.port == 7002 && c.hz == 20 && c.timeout == 30 && c.maxclients == 60)
        #expect(c.text("save") == Array("30 3 20 2 10 1".utf8))
        #expect(c.configFile == dir + "/main.conf")
    }

    @Test func argumentsOnly() throws {
        let c = try loadConfig(arguments: ["--port", "7003", "--bind", "127.0.0.1", "::1", "--save", "60 1",
                                           "--client-output-buffer-limit", "pubsub 1mb 2mb 3"])
        #expect(c.port == 7003)
        #expect(c.bind == ["127.0.0.1", "::1"])
        #expect(c.saveParams.map { [$0.seconds, $0.changes] } == [[60, 1]])
        #expect(c.clientOutputBufferLimit.pubsub == ClientBufferLimit(hard: 1 << 20, soft: 2 << 20, softSeconds: 3))
        #expect(c.configFile == nil)
        let e = try loadConfig(arguments: ["--requirepass", "a\"b\\c\n\u{1} d"])
        #expect(e.requirepass == Array("a\"b\\c\n\u{1} d".utf8))
        let d = try loadConfig(arguments: ["--port 7004", "--hz", "1000"])
        #expect(d.port == 7004 && d.hz == 500)
    }

    @Test func stdinConfig() throws {
        let c = try loadConfig(arguments: ["-", "--timeout", "9"], readStdin: { Array("port 7005\n".utf8) })
        #expect(c.port == 7005 && c.timeout == 9)
    }

    @Test func otherDirectives() throws {
        let c = try load("rename-command flushall \"\"\nuser bob on >pw ~* +@all\nloadmodule /x.so a b\nlist-max-ziplist-entries 5\nsentinel\n")
        #expect(c.renamedCommands.count == 1)
        #expect(c.userDirectives.count == 1)
        #expect(c.loadModules.count == 1)
        #expect(throws: ConfigError.self) {
            _ = try loadConfig(arguments: ["--rename-command", "nosuch", "x"], commandNames: ["get"])
        }
    }

    /// Start-up errors, byte for byte against redis-server's stderr and exit status.
    @Test(.enabled(if: RedisOracle.available)) func startupErrorsMatchRedis() throws {
        let cases: [(String, [String])] = [
            ("port 1\nfoo bar\n", []),
            ("  # c\n\n   port   1 2  \n", []),
            ("port \"abc\n", []),
            ("port 'a'b\n", []),
            ("port abc\n", []),
            ("PORT 99999\n", []),
            ("port -1\n", []),
            ("save 1\n", []),
            ("save a b\n", []),
            ("save 0 1\n", []),
            ("save 1 -1\n", []),
            ("maxmemory 1x\n", []),
            ("maxmemory -1\n", []),
            ("maxmemory 1.5gb\n", []),
            ("proto-max-bulk-len 10\n", []),
            ("proto-max-bulk-len 99999999999999999999\n", []),
            ("client-query-buffer-limit 5k\n", []),
            ("hash-max-ziplist-entries -1\n", []),
            ("hz 01\n", []),
            ("appendonly maybe\n", []),
            ("appendfsync sometimes\n", []),
            ("loglevel loud\n", []),
            ("maxmemory-policy lru\n", []),
            ("dbfilename a/b\n", []),
            ("appendfilename a/b\n", []),
            ("appenddirname a/b\n", []),
            ("dir /nonexistent/dir\n", []),
            ("dir a b\n", []),
            ("list-max-ziplist-entries 5 6\n", []),
            ("include\n", []),
            ("include a b\n", []),
            ("enable-debug-command maybe\n", []),
            ("unixsocketperm 999\n", []),
            ("unixsocketperm 7777\n", []),
            ("requirepass a b\n", []),
            ("client-output-buffer-limit normal 1 2\n", []),
            ("client-output-buffer-limit master 1 2 3\n", []),
            ("client-output-buffer-limit normal x 2 3\n", []),
            ("replicaof a\n", []),
            ("replicaof a b\n", []),
            ("replicaof a 70000\n", []),
            ("proc-title-template \"{x}\"\n", []),
            ("proc-title-template \"{title}\"\n", []),
            ("bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n", []),
            ("latency-tracking-info-percentiles x\n", []),
            ("latency-tracking-info-percentiles 101\n", []),
            ("notify-keyspace-events Q\n", []),
            ("maxmemory-clients 200%\n", []),
            ("maxmemory-clients -5\n", []),
            ("oom-score-adj-values 1 2\n", []),
            ("oom-score-adj-values 1 2 2001\n", []),
            ("shutdown-on-sigint save nosave\n", []),
            ("shutdown-on-sigint sometimes\n", []),
            ("rename-command\n", []),
            ("sentinel foo\n", []),
            ("a.b\n", []),
            ("port 1\r\nfoo\r\n", []),
            ("timeout -1\n", []),
            ("maxclients 0\n", []),
            ("port 7000\n", ["--port"]),
            ("port 7000\n", ["--foo", "bar"]),
            ("port 7000\n", ["--port", "1", "2"]),
            ("port 7000\n", ["--port", "abc"]),
            ("port 7000", ["--port", "abc"]),
            ("port 7000\n", ["--maxmemory", "1x", "--port", "3"]),
            ("port 7000\n", ["--save", "--port", "x"]),
            ("port 7000\n", ["--port", "--x"]),
            ("port 7000\n", ["--port 5", "x"]),
            ("port 7000\n", ["bare"]),
            ("port 7000\n", ["--hz", "1", "--HZ", "x y"]),
        ]
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (text, args) in cases {
            write(dir + "/t.conf", text)
            let real = try runRealRedisServer([dir + "/t.conf"] + args)
            #expect(real.status == 1, "\(text.debugDescription) \(args)")
            let mine = loadError(text, args)
            #expect(mine?.message == real.stderr, "\(text.debugDescription) \(args)")
            #expect(mine?.isLogLine == false)
        }
        // Only options, no file.
        let real = try runRealRedisServer(["--port", "abc"])
        var mine: String? = nil
        do { _ = try loadConfig(arguments: ["--port", "abc"]) } catch let e as ConfigError { mine = e.message }
        #expect(mine == real.stderr)
    }

    @Test(.enabled(if: RedisOracle.available)) func missingFilesMatchRedis() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        write(dir + "/t.conf", "port 1\ninclude \(dir)/nope.conf\n")
        for args in [[dir + "/missing.conf"], [dir + "/t.conf"], ["missing-relative.conf"]] {
            let real = try runRealRedisServer(args, cwd: dir)
            #expect(real.status == 1)
            // "pid:C date # text": compare the text after the log prefix.
            let theirs = real.stdout.components(separatedBy: " # ").last ?? ""
            let expectedArgs = args[0].hasPrefix("/") ? args : [dir + "/" + args[0]]
            do {
                _ = try loadConfig(arguments: expectedArgs)
                Issue.record("no error for \(args)")
            } catch let e as ConfigError {
                #expect(e.isLogLine)
                #expect(e.detail + "\n" == theirs, "\(args)")
                #expect(e.message.hasSuffix(" # " + theirs))
            }
        }
    }
}

@Suite struct ConfigCommandTests {
    /// CONFIG GET * of a fresh Cairn against a fresh redis-server: same names, same default texts.
    @Test(.enabled(if: RedisOracle.available)) func defaultsMatchRedis() throws {
        let oracle = try RedisOracle(keepDefaults: true)
        let cairn = ConfigHarness()
        let theirs = configPairs(try oracle.run(argv("CONFIG GET *")))
        let mine = configPairs(cairn.run(argv("CONFIG GET *")))
        #expect(theirs.count > 150)
        #expect(Set(mine.keys) == Set(theirs.keys))
        for (name, value) in theirs where !hostSpecific.contains(name) {
            #expect(mine[name] == value, "\(name)")
        }
        // One name at a time, byte for byte.
        for name in theirs.keys.sorted() where !hostSpecific.contains(name) {
            let t = try oracle.run(argv("CONFIG GET \(name)"))
            #expect(cairn.run(argv("CONFIG GET \(name)")) == t, "\(name)")
        }
    }

    /// Replies compared byte for byte (CONFIG GET with one match, errors, OK).
    private func compare(_ script: [String], oracle: RedisOracle, cairn: ConfigHarness,
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        for line in script {
            let args = argv(line)
            let t = try oracle.run(args), m = cairn.run(args)
            if line.uppercased().hasPrefix("CONFIG GET") && t.first == UInt8(ascii: "*") {
                // Redis lists matches in hash-table order: compare as name → value maps.
                #expect(configPairs(m) == configPairs(t), "\(line)", sourceLocation: sourceLocation)
                #expect(m.prefix(4) == t.prefix(4), "\(line)", sourceLocation: sourceLocation)
                continue
            }
            let theirs = String(decoding: t, as: UTF8.self)
            let mine = String(decoding: m, as: UTF8.self)
            #expect(mine == theirs, "\(line)", sourceLocation: sourceLocation)
        }
    }

    @Test(.enabled(if: RedisOracle.available)) func setAndGetMatchRedis() throws {
        let oracle = try RedisOracle(extra: ["--save", ""], keepDefaults: true)
        let cairn = ConfigHarness(config: try loadConfig(arguments: ["--save", ""]))
        try compare([
            "CONFIG", "CONFIG FOO", "CONFIG get", "CONFIG SET", "CONFIG SET a", "CONFIG SET a b c",
            "CONFIG RESETSTAT x", "CONFIG REWRITE x", "CONFIG HELP x", "CONFIG HELP", "CONFIG help",
            "CONFIG REWRITE", "CONFIG RESETSTAT",
            "CONFIG GET nosuch", "CONFIG GET HZ Hz hz", "CONFIG GET hash-max-ziplist-entries",
            "CONFIG SET maxmemory -1", "CONFIG SET maxmemory ''", "CONFIG GET maxmemory",
            "CONFIG SET maxmemory 1Kb", "CONFIG GET maxmemory", "CONFIG SET maxmemory 1G", "CONFIG GET maxmemory",
            "CONFIG SET maxmemory 99999999999999999999999", "CONFIG GET maxmemory",
            "CONFIG SET maxmemory 1b", "CONFIG SET maxmemory ' 1'", "CONFIG SET maxmemory +1", "CONFIG SET maxmemory 0",
            "CONFIG SET hz 1000", "CONFIG GET hz", "CONFIG SET hz 0", "CONFIG GET hz", "CONFIG SET hz abc",
            "CONFIG SET HZ abc", "CONFIG SET hz 10",
            "CONFIG SET port 99999", "CONFIG SET databases 3", "CONFIG SET xyz 1 hz 2", "CONFIG SET hz 2 xyz 1",
            "CONFIG SET databases 1 xyz 1", "CONFIG SET xyz 1 databases 1", "CONFIG SET hz 1 hz 2", "CONFIG SET hz 1 HZ 2",
            "CONFIG SET hz 11 maxmemory x", "CONFIG GET hz",
            "CONFIG SET hz 12 maxmemory 5mb", "CONFIG GET hz", "CONFIG GET maxmemory", "CONFIG SET maxmemory 0 hz 10",
            "CONFIG SET appendonly maybe", "CONFIG SET loglevel foo", "CONFIG SET loglevel 'notice warning'",
            "CONFIG SET loglevel WARNING", "CONFIG GET loglevel", "CONFIG SET loglevel notice",
            "CONFIG SET maxmemory-policy x", "CONFIG SET appendfsync x", "CONFIG SET appendfsync ALWAYS",
            "CONFIG GET appendfsync", "CONFIG SET appendfsync everysec",
            "CONFIG SET maxmemory-clients 10%", "CONFIG GET maxmemory-clients", "CONFIG SET maxmemory-clients 101%",
            "CONFIG SET maxmemory-clients -5", "CONFIG SET maxmemory-clients 5kb", "CONFIG GET maxmemory-clients",
            "CONFIG SET maxmemory-clients 0",
            "CONFIG SET dbfilename a/b", "CONFIG SET dir /nonexistent", "CONFIG SET unixsocketperm 700",
            "CONFIG SET hash-max-ziplist-entries x", "CONFIG SET Hash-Max-Ziplist-Entries x",
            "CONFIG SET hash-max-ziplist-entries -1", "CONFIG SET lua-time-limit x",
            "CONFIG SET hash-max-ziplist-entries 100", "CONFIG GET hash-max-listpack-entries",
            "CONFIG SET hash-max-listpack-entries 512",
            "CONFIG SET slowlog-log-slower-than -2", "CONFIG SET slowlog-log-slower-than -1",
            "CONFIG GET slowlog-log-slower-than", "CONFIG SET slowlog-log-slower-than 10000",
            "CONFIG SET save '1 2 3'", "CONFIG SET save 'a b'", "CONFIG SET save '10  20'", "CONFIG SET save ' 10 20'",
            "CONFIG SET save '10 20 '", "CONFIG SET save '\"10\" 20'", "CONFIG SET save '0 1'",
            "CONFIG SET save '10 20 30 40'", "CONFIG GET save", "CONFIG SET save ''", "CONFIG GET save",
            "CONFIG SET bind '1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17'",
            "CONFIG SET client-output-buffer-limit 'foo 1 2 3'", "CONFIG SET client-output-buffer-limit 'normal 1 2'",
            "CONFIG SET client-output-buffer-limit 'normal -1 2 3'",
            "CONFIG SET client-output-buffer-limit 'replica 1 2 3 pubsub 1k 2 3 master 1 1 1'",
            "CONFIG GET client-output-buffer-limit",
            "CONFIG SET client-output-buffer-limit 'normal 1mb 2 3'", "CONFIG GET client-output-buffer-limit",
            "CONFIG SET client-output-buffer-limit 'Replica 1gb 2mb 3 PUBSUB 1k 2K 4'", "CONFIG GET client-output-buffer-limit",
            "CONFIG SET client-output-buffer-limit 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60'",
            "CONFIG GET client-output-buffer-limit",
            "CONFIG SET notify-keyspace-events KEA", "CONFIG GET notify-keyspace-events",
            "CONFIG SET notify-keyspace-events '$lshzxeKEtmdng'", "CONFIG GET notify-keyspace-events",
            "CONFIG SET notify-keyspace-events gx$n", "CONFIG GET notify-keyspace-events",
            "CONFIG SET notify-keyspace-events Q", "CONFIG SET notify-keyspace-events ''",
            "CONFIG GET notify-keyspace-events",
            "CONFIG SET timeout -1", "CONFIG SET protected-mode Yes", "CONFIG GET protected-mode",
            "CONFIG SET protected-mode NO", "CONFIG GET protected-mode", "CONFIG SET protected-mode yes",
            "CONFIG SET oom-score-adj-values '1 2'", "CONFIG SET oom-score-adj-values '1 2 3000'",
            "CONFIG SET oom-score-adj-values 'a 1 2'",
            "CONFIG SET latency-tracking-info-percentiles '50 200'", "CONFIG SET latency-tracking-info-percentiles abc",
            "CONFIG SET latency-tracking-info-percentiles '1.5 99.99 100 0'", "CONFIG GET latency-tracking-info-percentiles",
            "CONFIG SET latency-tracking-info-percentiles '0.1234567 1e-9 5'", "CONFIG GET latency-tracking-info-percentiles",
            "CONFIG SET latency-tracking-info-percentiles ''", "CONFIG GET latency-tracking-info-percentiles",
            "CONFIG SET latency-tracking-info-percentiles '50 99 99.9'",
            "CONFIG SET replicaof 'no one'", "CONFIG SET slaveof 'no one'",
            "CONFIG SET shutdown-on-sigint 'save now'", "CONFIG GET shutdown-on-sigint",
            "CONFIG SET shutdown-on-sigint 'force now save'", "CONFIG GET shutdown-on-sigint",
            "CONFIG SET shutdown-on-sigint 'save nosave'", "CONFIG SET shutdown-on-sigint bogus",
            "CONFIG SET shutdown-on-sigint 'default force'", "CONFIG GET shutdown-on-sigint",
            "CONFIG SET shutdown-on-sigint default", "CONFIG GET shutdown-on-sigint",
            "CONFIG SET proc-title-template '{bad}'", "CONFIG SET proc-title-template ''",
            "CONFIG SET proc-title-template '{title}'", "CONFIG SET proc-title-template '{{x}} {port}'",
            "CONFIG GET proc-title-template", "CONFIG SET proc-title-template '{title} {listen-addr} {server-mode}'",
            "CONFIG SET enable-debug-command yes", "CONFIG SET cluster-announce-hostname 'a b'",
            "CONFIG SET bind-source-addr 1.2.3.4", "CONFIG GET bind-source-addr", "CONFIG SET bind-source-addr ''",
            "CONFIG SET oom-score-adj relative", "CONFIG GET oom-score-adj", "CONFIG SET oom-score-adj no",
            "CONFIG SET ignore-warnings 'x y'", "CONFIG GET ignore-warnings", "CONFIG SET ignore-warnings ''",
            "CONFIG SET masteruser 'a\"b'", "CONFIG GET masteruser", "CONFIG SET masteruser ''", "CONFIG GET masteruser",
            "CONFIG GET maxmemory*", "CONFIG GET *max*entries*", "CONFIG GET lazyfree-lazy-*",
            "CONFIG GET timeout t*out", "CONFIG GET [tT]imeout", "CONFIG GET TIMEOUT Timeout timeout",
        ], oracle: oracle, cairn: cairn)
    }

    /// Every runtime parameter: a bad value and a good value (then back to the default), against Redis.
    @Test(.enabled(if: RedisOracle.available)) func everyParameterMatchesRedis() throws {
        let oracle = try RedisOracle(extra: ["--save", ""], keepDefaults: true)
        let cairn = ConfigHarness(config: try loadConfig(arguments: ["--save", ""]))
        // Parameters whose change acts on the oracle process in ways a test should not trigger.
        let skip: Set<String> = ["port", "bind", "tls-port", "appendonly", "maxclients", "requirepass", "dir",
                                 "oom-score-adj", "oom-score-adj-values", "dbfilename", "save",
                                 // host-specific value; TLS settings (the oracle has no certificates)
                                 "logfile", "tls-cluster", "tls-replication"]
        var script: [String] = []
        for p in ConfigTable.parameters where !skip.contains(p.name) {
            let names = [p.name] + (p.alias.map { [$0] } ?? [])
            let n = names.last!
            let def = String(decoding: p.format(p.defaultValue), as: UTF8.self)
            var bad = ["garbage!"]
            var good: [String] = []
            switch p.type {
            case .bool: good = [def == "yes" ? "no" : "yes"]
            case .number(let lo, let hi, let unsigned, let format):
                bad += ["-99999999999999999999", "99999999999999999999", "1.5", "0x10", ""]
                if !unsigned {
                    if lo > Int64.min + 1 { bad.append(String(lo - 1)) }
                    if hi < Int64.max { bad.append(String(hi + 1)) }
                    good.append(String(lo))
                    if hi < Int64.max / 2 { good.append(String(hi)) }
                }
                if format == .memory { good += ["1kb", "2M", "3mb", "1gb"] }
            case .enumeration(let cases, _):
                good = cases.map(\.name) + [cases[0].name.uppercased()]
            case .string: good = ["abc", ""]
            case .special: break
            }
            for v in bad { script.append("CONFIG SET \(n) '\(v)'") }
            for v in good {
                script.append("CONFIG SET \(n) '\(v)'")
                script.append("CONFIG GET \(n)")
                script.append("CONFIG GET \(p.name)")
            }
            script.append("CONFIG SET \(p.name) '\(def)'")
            script.append("CONFIG GET \(p.name)")
        }
        try compare(script, oracle: oracle, cairn: cairn)
    }

    @Test func resp3MapAndHooks() throws {
        let h = ConfigHarness()
        h.session.resp = 3
        #expect(h.run("CONFIG GET port") == "%1\r\n$4\r\nport\r\n$4\r\n6379\r\n")
        #expect(h.run("CONFIG GET nosuch") == "%0\r\n")
        var calls: [String] = []
        h.config.onChange["hz"] = { c in calls.append("hz \(c.hz)"); return nil }
        h.config.onChange["timeout"] = { c in c.timeout == 99 ? "Failed to apply" : nil }
        #expect(h.run("CONFIG SET hz 20 maxmemory 1mb") == "+OK\r\n")
        #expect(calls == ["hz 20"])
        #expect(h.run("CONFIG SET hz 30 timeout 99") == "-ERR CONFIG SET failed (possibly related to argument 'timeout') - Failed to apply\r\n")
        #expect(h.config.hz == 20 && h.config.timeout == 0)
        #expect(calls == ["hz 20", "hz 30", "hz 20"])
        // The engine sees thresholds and requirepass after CONFIG SET.
        #expect(h.run("CONFIG SET hash-max-listpack-entries 3 requirepass secret") == "+OK\r\n")
        #expect(h.engine.config.hashMaxListpackEntries == 3)
        #expect(h.engine.requirePass == Array("secret".utf8))
        var reset = false
        h.config.onResetStat = { reset = true }
        h.engine.stats.keyspaceHits = 5
        #expect(h.run("CONFIG RESETSTAT") == "+OK\r\n")
        #expect(reset && h.engine.stats.keyspaceHits == 0)
        // CONFIG GET * lists every name once, but not the hidden testing parameters (as Redis).
        h.session.resp = 2
        let all = configPairs(h.run(argv("CONFIG GET *")))
        let hidden = ConfigTable.allNames.filter { ConfigTable.parameters[$0.index].flags.contains(.hidden) }
        #expect(!hidden.isEmpty && hidden.allSatisfy { all[$0.name] == nil })
        #expect(all.count == ConfigTable.allNames.count - hidden.count)
    }
}

@Suite struct ConfigRewriteTests {
    @Test func sha256() {
        #expect(sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(sha256Hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func noConfigFile() {
        let h = ConfigHarness()
        #expect(h.run("CONFIG REWRITE") == "-ERR The server is running without a config file\r\n")
    }

    @Test func rewriteKeepsCommentsAndReplacesInPlace() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/r.conf"
        write(path, "# top\nport 7100\n\n   # indented\nhash-max-ziplist-entries 100\nsave 900 1\nsave 300 10\nsave 60 10000\nTimeout 5\ntimeout 6\ninclude \(dir)/none*.conf\nbind 127.0.0.1\n")
        let h = ConfigHarness(config: try loadConfig(arguments: [path]))
        #expect(h.run("CONFIG SET maxmemory 2gb hz 20 save ''") == "+OK\r\n")
        // Lines added after load are kept or marked, as Redis does.
        let fh = FileHandle(forWritingAtPath: path)!
        fh.seekToEndOfFile()
        fh.write(Data("foo bar\nlist-max-ziplist-entries 5\n".utf8))
        fh.closeFile()
        #expect(h.run("CONFIG REWRITE") == "+OK\r\n")
        let text = String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self)
        let cwd = FileManager.default.currentDirectoryPath
        #expect(text == """
            # top
            port 7100

            # indented
            hash-max-listpack-entries 100
            save ""

            timeout 6

            include \(dir)/none*.conf
            bind 127.0.0.1
            # ??? foo bar
            # ??? list-max-ziplist-entries 5

            # Generated by CONFIG REWRITE
            hz 20
            dir "\(cwd)"
            maxmemory 2gb
            latency-tracking-info-percentiles 50 99 99.9
            user default on nopass ~* &* +@all

            """)
        // Rewriting again changes nothing.
        #expect(h.run("CONFIG REWRITE") == "+OK\r\n")
        let again = String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self)
        #expect(again == text + "\n")
    }

    /// The same file and the same CONFIG SETs on Redis and Cairn give the same file (appended lines
    /// compared as a set: Redis appends in hash order).
    @Test(.enabled(if: RedisOracle.available)) func rewriteMatchesRedis() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let body = """
            # comment
            hash-max-ziplist-entries 100
            save 900 1
            save 300 10
            save 60 10000
            maxmemory 1mb
              loglevel notice
            Timeout 5
            timeout 6
            client-output-buffer-limit normal 0 0 0
            slaveof 127.0.0.1 1
            pidfile ""
            aclfile ""
            notify-keyspace-events ""
            oom-score-adj-values 0 200 800
            maxmemory-clients 0
            proto-max-bulk-len 1mb
            shutdown-on-sigint default
            enable-debug-command no
            unixsocketperm 0
            masterauth x
            rename-command get get2
            """
        let sets = [
            "CONFIG SET maxmemory 3000 proto-max-bulk-len 2gb client-query-buffer-limit 1025kb maxmemory-clients 10%",
            "CONFIG SET shutdown-on-sigterm 'now save' appendfsync always oom-score-adj-values '1 2 3'",
            "CONFIG SET latency-tracking-info-percentiles '' masteruser 'a\"b c' loglevel warning",
            "CONFIG SET hash-max-listpack-value 1000000 maxmemory-policy allkeys-lru notify-keyspace-events KA",
            "CONFIG SET save '5 5' client-output-buffer-limit 'normal 1gb 3mb 10 replica 1mb 2 3' slowlog-log-slower-than -1",
            "CONFIG SET ignore-warnings 'x y' requirepass abc masterauth ''",
        ]
        let redisConf = dir + "/redis.conf", cairnConf = dir + "/cairn.conf"
        write(redisConf, body)
        write(cairnConf, body)
        let redisDir = dir + "/rd"
        try FileManager.default.createDirectory(atPath: redisDir, withIntermediateDirectories: true)
        let oracle = try RedisOracle(configFile: redisConf, dir: redisDir, keepDefaults: true)
        // The oracle's own options (port, dir, logfile) go in its file's rewrite; give Cairn the same.
        let cairn = ConfigHarness(config: try loadConfig(arguments: [cairnConf, "--port", String(oracle.port),
                                                                     "--logfile", oracle.logPath]))
        for s in sets {
            let t = try oracle.run(s)
            #expect(cairn.run(s) == t, "\(s)")
        }
        _ = try oracle.run("AUTH abc")
        #expect(try oracle.run("CONFIG REWRITE") == "+OK\r\n")
        #expect(cairn.run("CONFIG REWRITE") == "+OK\r\n")
        func split(_ path: String) -> (head: String, tail: [String]) {
            let text = String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self)
            let parts = text.components(separatedBy: "# Generated by CONFIG REWRITE\n")
            let tail = parts.count > 1 ? parts[1].split(separator: "\n").map(String.init).filter { !$0.hasPrefix("dir ") } : []
            return (parts[0], tail.sorted())
        }
        let r = split(redisConf), c = split(cairnConf)
        #expect(c.head == r.head)
        #expect(c.tail == r.tail)
    }
}
