// cairn-rdb diff A B | diff A --server host:port: key-by-key differences (DiffReport.swift names the
// kinds). Exit 0 when equal, 1 when they differ, 2 on a usage or I/O error.
//
// Two files, without holding both: pass 1 reads A into a table key fingerprint → (value fingerprint,
// expiry, type) — 128-bit fingerprints (ToolKit.KeyDigest), so a key costs about 80 bytes of table
// whatever its name and value sizes (10 M keys ≈ 0.8 GB). Pass 2 streams B and takes each key out of
// the table as it compares it: what B has and the table has not is extra. Pass 3 re-reads A only when
// keys are left, to name them (missing). Values are never held: each is fingerprinted while it is
// walked element by element (ToolKit.ValueDigester), so a key of any size costs a few words.
// A file and a server: the file is streamed once, its keys compared with DUMP + PEXPIRETIME in
// pipelined batches (ServerCompare.swift), keeping only a set of key fingerprints (~40 bytes a key),
// then the server is SCANned for extra keys. Keys of the file already expired are skipped (a server
// would have dropped them). A TTL counts as equal within --ttl-tolerance ms (default 0 for files,
// 1000 against a server).
import ArgumentParser
import StorageFormat
import ToolKit

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two RDB files, or an RDB file and a live server, key by key.",
        discussion: """
            Reports keys missing from B, extra in B, of another type, with another value, or with another TTL. \
            Filters apply to both sides. Exit codes: 0 equal, 1 differences (or invalid input), 2 usage or I/O error.
            """)

    @Argument(help: "The reference RDB file (A).")
    var a: String

    @Argument(help: "The RDB file to compare with (B); leave out with --server.")
    var b: String?

    @Option(name: .customLong("server"), help: ArgumentHelp("Compare A with a live server (host:port) instead of a file.", valueName: "HOST:PORT"))
    var server: String?

    @OptionGroup var serverOptions: ServerOptions

    @OptionGroup var filters: FilterOptions

    @Option(name: .customLong("ttl-tolerance"), help: ArgumentHelp("Expiries this many ms apart count as equal (default 0 for two files, 1000 against a server).", valueName: "MS"))
    var ttlTolerance: Int64?

    @Flag(help: "Write the differences and the summary as one JSON document.")
    var json = false

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar.")
    var noProgress = false

    func validate() throws {
        if (b == nil) == (server == nil) { throw ValidationError("give either a second file B or --server HOST:PORT") }
        if let t = ttlTolerance, t < 0 { throw ValidationError("--ttl-tolerance must not be negative") }
        if a == "-" && b != nil { throw ValidationError("A is read twice when keys are missing: give it as a file, not -") }
    }

    func run() throws {
        var equal = false
        try CairnRDB.guarded {
            let filter = try filters.makeFilter()
            if let server {
                equal = try diffWithServer(filter, server)
            } else {
                equal = try diffFiles(filter, b!)
            }
        }
        if !equal { throw ExitCode(ToolExit.invalid.rawValue) }
    }

    func diffFiles(_ filter: KeyFilter, _ b: String) throws -> Bool {
        let report = try DiffReport(json: json, labelA: a, labelB: b, tolerance: ttlTolerance ?? 0)
        var table: [Digest128: KeySummary] = [:]
        let digester = ValueDigester()
        func summary(_ h: RDBKeyHeader) -> KeySummary { KeySummary(value: digester.digest, expiresAt: h.expiresAt, type: digester.kindCode) }
        try RDBInputFile(path: a, label: "diff A", progress: !noProgress && !json).forEachKey(filter, visitor: digester) { h in
            table[KeyDigest.key(db: h.db, h.key)] = summary(h)
            report.keysA += 1
        }
        // B's keys that A selected are compared whatever their type and TTL in B (a type or TTL
        // change is a difference, not a missing key); B's other keys count when B's side selects them.
        var location = filter
        location.types = []
        location.expiry = .any
        try RDBInputFile(path: b, label: "diff B", progress: !noProgress && !json).forEachKey(location, visitor: digester) { h in
            let d = KeyDigest.key(db: h.db, h.key)
            if let inA = table.removeValue(forKey: d) {
                report.keysB += 1
                try report.compare(db: h.db, key: h.key, a: inA, b: summary(h))
            } else if filter.matches(db: h.db, key: h.key, type: h.typeName, expiresAt: h.expiresAt) {
                report.keysB += 1
                try report.report(.extra, db: h.db, key: h.key, a: nil, b: summary(h))
            }
        }
        if !table.isEmpty {
            // Names only: the values are not needed (walked without a visitor).
            let reader = try RDBInputFile(path: a, label: "diff A", progress: !noProgress && !json)
            var chosen = false
            while let r = try reader.reader.nextWalking({ h in
                chosen = filter.matches(db: h.db, key: h.key, type: h.typeName, expiresAt: h.expiresAt)
                return nil
            }) {
                if case .key(let h) = r, chosen, let inA = table.removeValue(forKey: KeyDigest.key(db: h.db, h.key)) {
                    try report.report(.missing, db: h.db, key: h.key, a: inA, b: nil)
                }
                reader.progress.update(reader.reader.offset)
            }
            reader.progress.finish()
        }
        return try report.finish()
    }

    func diffWithServer(_ filter: KeyFilter, _ server: String) throws -> Bool {
        let client = try serverOptions.connect(server)
        let report = try DiffReport(json: json, labelA: a, labelB: server, tolerance: ttlTolerance ?? 1000)
        let comparer = try ServerComparer(client: client, report: report)
        var known = Set<Digest128>()
        let now = nowMilliseconds()
        let digester = ValueDigester()
        try RDBInputFile(path: a, label: "diff", progress: !noProgress && !json).forEachKey(filter, visitor: digester) { h in
            if let at = h.expiresAt, at <= now { return }
            report.keysA += 1
            known.insert(KeyDigest.key(db: h.db, h.key))
            try comparer.add(db: h.db, key: h.key, summary: KeySummary(value: digester.digest, expiresAt: h.expiresAt, type: digester.kindCode))
        }
        try comparer.flush()
        try comparer.scanExtras(filter: filter, known: known)
        return try report.finish()
    }
}
