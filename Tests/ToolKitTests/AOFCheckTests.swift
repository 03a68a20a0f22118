// AOFCheckTool (cairn-check-aof's logic) through its library API, in a temporary folder: a Redis-written
// AOF passes; a single-file AOF and an appendonlydir whose last command is cut are reported (exit 1),
// and --fix --yes truncates them to the last whole command, keeps FILE.bak equal to the input, and
// leaves an AOF that checks clean; a cut that is not at the tail is refused, the file untouched.
import Foundation
import Testing
import StorageFormat
import TestSupport
import ToolKit

/// The check's exit code (its report goes to standard output, as cairn-check-aof's does).
func checkAOF(_ path: String, fix: Bool = false) -> Int32 {
    var o = AOFCheckOptions(path: path)
    o.progress = false
    o.fix = fix
    o.yes = fix
    return AOFCheckTool.run(o)
}

/// Commands as AOF records, and where each starts.
func aofRecords(_ commands: [String]) -> (bytes: [UInt8], starts: [Int]) {
    var bytes: [UInt8] = []
    var starts: [Int] = []
    for c in commands {
        starts.append(bytes.count)
        AOFCommands.append(argv(c), to: &bytes)
    }
    return (bytes, starts)
}

@Suite struct AOFCheckTests {
    static let commands = ["SELECT 0", "SET a 1", "RPUSH list x y z", "MULTI", "INCR a", "EXEC", "HSET h f v", "SET last \"a longer value\""]

    @Test(arguments: ["redis70-legacy/appendonly.aof", "redis70-plain/appendonlydir/appendonly.aof.manifest",
                      "redis70-preamble/appendonlydir/appendonly.aof.manifest"])
    func redisWrittenAOFPasses(file: String) throws {
        #expect(checkAOF(Paths.fixture("aof/" + file)) == ToolExit.ok.rawValue)
    }

    @Test func cutSingleFileIsReportedAndFixed() throws {
        let (whole, starts) = aofRecords(AOFCheckTests.commands)
        try withTempDir("cairn-aofcheck") { dir in
            let path = dir + "/appendonly.aof"
            try writeBytes(path, whole)
            #expect(checkAOF(path) == ToolExit.ok.rawValue)
            let lastStart = starts.last!
            for cut in [lastStart + 1, lastStart + 5, whole.count - 1] {
                let input = Array(whole[0 ..< cut])
                try writeBytes(path, input)
                removeTree(path + ".bak")
                #expect(checkAOF(path) == ToolExit.invalid.rawValue, "cut at \(cut)")
                #expect(try readBytes(path) == input, "a check alone changes nothing (cut at \(cut))")
                #expect(checkAOF(path, fix: true) == ToolExit.ok.rawValue, "cut at \(cut)")
                #expect(try readBytes(path) == Array(whole[0 ..< lastStart]), "cut at \(cut)")
                #expect(try readBytes(path + ".bak") == input, "cut at \(cut)")
                #expect(checkAOF(path) == ToolExit.ok.rawValue, "cut at \(cut)")
            }
        }
    }

    /// A cut inside a transaction: the fix drops the whole unclosed MULTI, not just the cut command.
    @Test func cutTransactionIsDroppedWhole() throws {
        let (whole, starts) = aofRecords(Array(AOFCheckTests.commands.prefix(6)))
        try withTempDir("cairn-aofcheck") { dir in
            let path = dir + "/appendonly.aof"
            try writeBytes(path, Array(whole[0 ..< whole.count - 3]))
            #expect(checkAOF(path, fix: true) == ToolExit.ok.rawValue)
            #expect(try readBytes(path) == Array(whole[0 ..< starts[3]]))
        }
    }

    @Test func damageBeforeTheTailIsNotFixed() throws {
        var (bytes, starts) = aofRecords(AOFCheckTests.commands)
        bytes[starts[2]] = UInt8(ascii: "!")
        try withTempDir("cairn-aofcheck") { dir in
            let path = dir + "/appendonly.aof"
            try writeBytes(path, bytes)
            #expect(checkAOF(path) == ToolExit.invalid.rawValue)
            #expect(checkAOF(path, fix: true) == ToolExit.invalid.rawValue)
            #expect(try readBytes(path) == bytes)
        }
    }

    @Test func cutLastFileOfAnAppendonlydirIsFixed() throws {
        try withTempDir("cairn-aofcheck") { dir in
            let aofDir = dir + "/appendonlydir"
            try copyTree(Paths.fixture("aof/redis70-plain/appendonlydir"), aofDir)
            let manifestPath = aofDir + "/appendonly.aof.manifest"
            let manifest = try AOFManifest.read(path: manifestPath)
            let incr = aofDir + "/" + (try #require(manifest.incrs.last)).name
            let whole = try readBytes(incr)
            try writeBytes(incr, Array(whole[0 ..< whole.count - 2]))
            #expect(checkAOF(manifestPath) == ToolExit.invalid.rawValue)
            #expect(checkAOF(manifestPath, fix: true) == ToolExit.ok.rawValue)
            let fixed = try readBytes(incr)
            #expect(fixed.count < whole.count - 2 && whole.starts(with: fixed))
            #expect(checkAOF(manifestPath) == ToolExit.ok.rawValue)
        }
    }
}
