// swift-tools-version:6.0
// Cairn: a Redis-compatible, persistence-first in-memory store. See ../shared/DESIGN.md for the layout.
import PackageDescription

/// Hot-path modules are single-threaded by design (DESIGN.md), so release builds skip the runtime
/// exclusivity checks, which otherwise cost a thread-local lookup on every class property access.
let fastSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "Cairn",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "StorageFormat", targets: ["StorageFormat"]),
        .executable(name: "cairn-rdb", targets: ["cairn-rdb"]),
        .executable(name: "cairn-check-rdb", targets: ["cairn-check-rdb"]),
        .executable(name: "cairn-server", targets: ["cairn-server"]),
        .executable(name: "cairn-bench", targets: ["cairn-bench"]),
        .executable(name: "cairn-check-aof", targets: ["cairn-check-aof"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        .systemLibrary(name: "CLZF", path: "Sources/CLZF", pkgConfig: "liblzf",
                       providers: [.apt(["liblzf-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // Lua 5.1 with lua-cjson and lua-bitop, for EVAL and FUNCTION (Sources/Engine/Scripting).
        .systemLibrary(name: "CLua", path: "Sources/CLua", pkgConfig: "lua5.1",
                       providers: [.apt(["liblua5.1-0-dev", "lua-cjson-dev", "lua-bitop-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .target(name: "StorageFormat", dependencies: ["CLZF", "CZlib"], swiftSettings: fastSettings),
        .target(name: "Engine", dependencies: [
            "StorageFormat", "CLua", "CLuaLibs", "CSystem",
            .product(name: "Collections", package: "swift-collections"),
        ], swiftSettings: fastSettings),
        .target(name: "CSystem"),
        // The libraries Lua scripts get: cmsgpack and struct written for Cairn (Debian packages neither),
        // Debian's lua-cjson and lua-bitop with Cairn's corrections; against Debian's Lua 5.1.
        .target(name: "CLuaLibs", cSettings: [.unsafeFlags(["-I/usr/include/lua5.1"])],
                linkerSettings: [.linkedLibrary("lua5.1-cjson"), .linkedLibrary("lua5.1-bitop"), .linkedLibrary("lua5.1")]),
        .target(name: "Persistence", dependencies: ["Engine", "StorageFormat"], swiftSettings: fastSettings),
        .target(name: "Server", dependencies: ["Engine", "Persistence", "StorageFormat", "ToolKit", "CSystem", "COpenSSL",
                                               .product(name: "DequeModule", package: "swift-collections")], swiftSettings: fastSettings),
        // Dynamic symbols exported: crash reports and the watchdog's stack traces name functions.
        .executableTarget(name: "cairn-server", dependencies: ["Server"],
                          linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic"])]),
        .target(name: "ToolKit", dependencies: ["StorageFormat"], swiftSettings: fastSettings),
        // cairn-rdb links Engine and Persistence to replay an AOF into RDB as the server loads it.
        .executableTarget(name: "cairn-rdb", dependencies: [
            "StorageFormat", "ToolKit", "Engine", "Persistence",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "HeapModule", package: "swift-collections"),
        ]),
        .executableTarget(name: "cairn-check-rdb", dependencies: [
            "StorageFormat", "ToolKit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "cairn-bench", dependencies: ["StorageFormat"]),
        .executableTarget(name: "cairn-check-aof", dependencies: [
            "StorageFormat", "ToolKit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Helpers every test target shares (temporary folders, free ports, fixture paths, processes, a
        // RESP client, the Redis oracle); it depends on no server module so every test target can use it.
        .target(name: "TestSupport", dependencies: ["StorageFormat"], path: "Tests/TestSupport"),
        .testTarget(name: "StorageFormatTests", dependencies: ["StorageFormat", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "StorageFormat", "TestSupport"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "Engine", "StorageFormat", "TestSupport"]),
        .testTarget(name: "InteropTests", dependencies: ["StorageFormat", "TestSupport"]),
        .testTarget(name: "PersistenceTests", dependencies: ["Persistence", "Engine", "StorageFormat", "TestSupport"]),
        .testTarget(name: "ToolKitTests", dependencies: ["ToolKit", "StorageFormat", "TestSupport"]),
    ]
)
