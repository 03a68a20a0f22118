// Where things are for the tests: the repository (and so its Fixtures/), the shared fixtures beside
// it (../shared/fixtures/redis-assets, files from Redis's own test suite), the binaries built with
// the tests (whatever --scratch-path), and Debian's redis-server and redis-cli.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum Paths {
    /// The repository root (this file is Tests/TestSupport/Paths.swift).
    public static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A path relative to the repository root.
    public static func repo(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// A file under the repository's Fixtures/ (e.g. "rdb/redis70-lzf-crc.rdb", "aof/redis70-legacy/appendonly.aof").
    public static func fixture(_ relative: String) -> String { repo("Fixtures/" + relative) }

    /// ../shared/fixtures/redis-assets: Redis's own test assets, outside the repository (may be absent).
    public static let sharedFixtures = root.deletingLastPathComponent().appendingPathComponent("shared/fixtures/redis-assets").path

    /// True when ../shared/fixtures/redis-assets is there.
    public static var haveSharedFixtures: Bool { FileManager.default.fileExists(atPath: sharedFixtures) }

    /// The folders the running test bundle may have been started from (the build's products folder of
    /// any --scratch-path): /proc/self/exe, argv[0] and any .xctest argument, each taken outside the bundle.
    public static let binDirs: [String] = {
        var starts: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { starts.append(exe) }
        if let first = CommandLine.arguments.first { starts.append(first) }
        starts += CommandLine.arguments.filter { $0.contains(".xctest") }
        var dirs: [String] = []
        for s in starts {
            var url = URL(fileURLWithPath: s).deletingLastPathComponent()
            // The bundle may be run from inside (…/X.xctest/Contents/MacOS) on some platforms.
            while url.path != "/" && url.path.contains(".xctest") { url.deleteLastPathComponent() }
            if !dirs.contains(url.path) { dirs.append(url.path) }
        }
        return dirs
    }()

    /// The build's products folder: the first of `binDirs` (the repository's .build/debug when none).
    public static var binDir: String { binDirs.first ?? repo(".build/debug") }

    /// A program built with the tests (cairn-server, cairn-rdb, cairn-check-rdb…), beside the test
    /// bundle; `.build/debug`'s when the bundle's folder has none.
    public static func tool(_ name: String) -> String {
        for d in binDirs where access(d + "/" + name, X_OK) == 0 { return d + "/" + name }
        return repo(".build/debug/" + name)
    }

    /// The cairn-server built beside the running tests.
    public static let cairnServer: String = tool("cairn-server")
    public static var haveCairn: Bool { access(cairnServer, X_OK) == 0 }

    /// Debian's redis-server and redis-cli (package redis-server / redis-tools, 7.0).
    public static let redisServer = "/usr/bin/redis-server"
    public static let redisCLI = "/usr/bin/redis-cli"
    public static var haveRedis: Bool { access(redisServer, X_OK) == 0 && access(redisCLI, X_OK) == 0 }
}
