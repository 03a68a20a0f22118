// swift-tools-version:6.0
// libFuzzer harnesses for Cairn's parsers (see ../README-fuzz.md). Build with `tools/fuzz/run`, which passes
// `--sanitize fuzzer --sanitize address`. The entry points live in FuzzEntryPoints (a link to
// Tests/StorageFormatTests/FuzzEntryPoints.swift) so the normal test suite replays Fixtures/fuzz through them.
import PackageDescription

let targets = ["rdb", "dump", "resp", "aof", "manifest", "listpack", "ziplist", "intset", "zipmap", "lzf"]

let package = Package(
    name: "CairnFuzz",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "Cairn", path: "../..")],
    targets: [
        .target(name: "FuzzEntryPoints", dependencies: [.product(name: "StorageFormat", package: "Cairn")]),
    ] + targets.map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzEntryPoints"], path: "Sources/fuzz-\(name)",
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])])
    }
)
