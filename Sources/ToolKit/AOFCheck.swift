// AOFCheck: cairn-check-aof's logic (Sources/cairn-check-aof/main.swift only parses the command line).
// It checks a single AOF, an AOF with an RDB preamble, or a multi-part AOF through its manifest (BASE,
// then every INCR in manifest order, relative to the manifest's folder), printing redis-check-aof
// 7.0's lines on standard output (FORMATS.md §13.5) with its verdicts and exit status 0/1, so scripts
// that wrap redis-check-aof keep working. What Cairn adds goes to standard error with --verbose (the
// command a problem is in, what a fix or cut removed, backups) or, with --json, into one JSON object
// instead; without either, standard error stays as quiet as redis-check-aof's.
// Exit codes: 0 valid (or fixed, or cut), 1 problems found (or a fix refused or declined), 2 usage
// or I/O error (redis-check-aof uses 1 for those too).
//
// Input kind, as redis-check-aof decides it: a file whose first non-comment line starts with "file"
// is a manifest (redis-check-aof 7.0 takes a file as a manifest when ANY line starts with "file", so
// an AOF holding a value "file…" at a line start is misread; Cairn does so only for a file that does
// not start like an AOF, '*' or "REDIS"); otherwise a file of at least 8 bytes starting with "REDIS"
// has an RDB preamble (checked by RDBReader: every record and the CRC); otherwise it is RESP.
// Only a BASE may have a preamble in a multi-part AOF, as in redis-check-aof.
//
// --fix: like redis-check-aof, only the last file, truncated to ok_up_to (the last complete command
// outside an unclosed MULTI) after "Continue? [y/N]:" unless --yes; unlike it, keeps FILE.bak unless
// --no-backup, and refuses when the problem is not at the file's tail (a complete command or a
// timestamp annotation starts after it): truncating there would drop valid commands.
// --truncate-to-timestamp T alone: as redis-check-aof, cuts the last file in place at the first `#TS:`
// annotation later than T and refuses a cut in an earlier file. With --out DIR or --in-place: cuts at
// that annotation (before the MULTI it is in, if any) in whichever file it is, BASE or any INCR,
// dropping every later INCR; writes the result as a new appendonlydir (--out DIR: the files up to the
// cut and a manifest listing only them) or, with --in-place, truncates the cut file (backup kept) and
// rewrites the manifest (later files are left on disk, no longer listed).
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat

public struct AOFCheckOptions: Sendable {
    public var path: String
    public var fix = false
    public var yes = false
    public var backup = true
    public var truncateToTimestamp: Int64?
    public var outDir: String?
    public var inPlace = false
    public var json = false
    /// Cairn's details on standard error (text mode); redis-check-aof prints none.
    public var verbose = false
    public var progress = true
    public init(path: String) { self.path = path }
}

public enum AOFCheckTool {
    /// Runs the check; returns the exit code.
    public static func run(_ options: AOFCheckOptions) -> Int32 {
        AOFCheckRun(options).run()
    }
}

/// One checked file, for the report.
struct AOFCheckedFile {
    var name: String
    var path: String
    var role: String
    var format: String
    var size: Int?
    var status: String
    var okUpTo: Int?
    var okUpToLine: Int?
    var commands = 0
    var annotations = 0
    var rdb: AOFRDBPartResult?
}

struct AOFCheckProblem {
    var file: String
    var path: String
    var offset: Int
    var okUpTo: Int?
    var reason: String
    var checkAOFLine: [UInt8]?
    var command: AOFProblemCommand?
    var cairnOnly = false
}

struct AOFFixInfo {
    var file: String
    var path: String
    var from: Int
    var to: Int
    var backup: String?
    var done = false
    var refused: String?
}

struct AOFCutInfo {
    var file: String
    var path: String
    var role: String
    var index: Int
    var offset: Int
    var annotation: Int64
    var size: Int
    var insideMulti: Bool
}

final class AOFCheckRun {
    let o: AOFCheckOptions
    let out = FileOutput.standardOutput()
    let scanner = AOFCheckScanner()
    var progress: Progress?
    var doneBefore = 0

    var kind = "resp"
    var files: [AOFCheckedFile] = []
    var problem: AOFCheckProblem?
    var fix: AOFFixInfo?
    var cut: AOFCutInfo?
    var droppedFiles: [(name: String, size: Int)] = []
    var written: String?
    var manifest: AOFManifest?
    var manifestPath: String?
    var ioError: String?

    struct Abort: Error {
        let raw: Int32
        init(code: ToolExit) { raw = code.rawValue }
        var code: ToolExit { ToolExit(rawValue: raw) ?? .usage }
    }

    init(_ options: AOFCheckOptions) { o = options }

    /// --truncate-to-timestamp without --out or --in-place: redis-check-aof's own behaviour (only the
    /// last file is cut, where it is, without a backup).
    var redisTruncation: Bool { o.truncateToTimestamp != nil && o.outDir == nil && !o.inPlace }

    // MARK: - Output

    func say(_ s: String) { sayBytes(Array(s.utf8)) }

    func sayBytes(_ b: [UInt8]) {
        guard !o.json else { return }
        progress?.finish()
        try? out.write(b + [10])
    }

    /// Cairn's own details: standard error in text mode (the JSON report carries them otherwise).
    func note(_ s: String) {
        guard !o.json, o.verbose else { return }
        progress?.finish()
        try? out.flush()
        printError("cairn-check-aof: " + s)
    }

    // MARK: - Run

    func run() -> Int32 {
        var code = ToolExit.ok
        do {
            try checkOptions()
            try checkInput()
        } catch let a as Abort {
            code = a.code
        } catch {
            let (message, c) = classify(error)
            ioError = message
            code = c == .invalid ? .invalid : .usage
            if !o.json {
                try? out.flush()
                printError("cairn-check-aof: \(message)")
            }
        }
        progress?.finish()
        if o.json { writeJSON(code) }
        try? out.flush()
        return code.rawValue
    }

    func usage(_ message: String) -> Abort {
        ioError = message
        if !o.json { printError("cairn-check-aof: \(message)") }
        return Abort(code: .usage)
    }

    func checkOptions() throws {
        if let dir = o.outDir {
            var st = stat()
            if stat(dir, &st) == 0 {
                guard (st.st_mode & S_IFMT) == S_IFDIR else { throw usage("--out \(dir) exists and is not a folder") }
                guard let d = opendir(dir) else { throw usage("cannot read folder \(dir)") }
                defer { closedir(d) }
                while let e = readdir(d) {
                    let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                    if name != "." && name != ".." { throw usage("--out \(dir) is not empty; give a new or empty folder") }
                }
            }
        }
        if (o.fix || o.inPlace) && isGzipFile(o.path) {
            throw usage("\(o.path) is gzip-compressed: it can be checked, but not fixed or truncated in place")
        }
    }

    func checkInput() throws {
        let path = o.path
        do {
            _ = try AOFCheckFile(path: path)
        } catch let e as IOError {
            say("Cannot open file \(path): \(e.reason)")
            ioError = "cannot open \(path): \(e.reason)"
            throw Abort(code: .usage)
        }
        if try isManifest(path) {
            kind = "multi-part"
            try checkMultiPart(path)
        } else {
            let rdb = try isRDB(path)
            kind = rdb ? "rdb-preamble" : "resp"
            try checkOldStyle(path, preamble: rdb)
        }
    }

    // MARK: - Input kinds

    /// The first `n` bytes of the content (decompressed when gzip).
    func head(_ path: String, _ n: Int) throws -> [UInt8] {
        let input = try AOFCheckInput(path: path, start: 0)
        var h: [UInt8] = []
        var tail: (UInt8, UInt8) = (0, 0)
        _ = try input.fread(n, keep: n, head: &h, tail: &tail)
        return h
    }

    func isManifest(_ path: String) throws -> Bool {
        let input = try AOFCheckInput(path: path, start: 0)
        var line = [UInt8](repeating: 0, count: 1026)
        var firstContent = true
        while true {
            let n = try input.fgets(into: &line, max: 1025)
            if n == 0 { return false }
            if line[0] == UInt8(ascii: "#") { continue }
            if n >= 4 && line[0 ..< 4].elementsEqual("file".utf8) { return true }
            if firstContent {
                firstContent = false
                if line[0] == UInt8(ascii: "*") || (n >= 5 && line[0 ..< 5].elementsEqual("REDIS".utf8)) { return false }
            }
        }
    }

    func isRDB(_ path: String) throws -> Bool {
        let h = try head(path, 8)
        return h.count >= 8 && h[0 ..< 5].elementsEqual("REDIS".utf8)
    }

    // MARK: - Old style (one file)

    func checkOldStyle(_ path: String, preamble: Bool) throws {
        say("Start checking Old-Style AOF")
        let size = (try? AOFCheckFile(path: path).size) ?? 0
        startProgress(total: isGzipFile(path) ? nil : size)
        let r = try checkSingle(name: path, path: path, role: "single", index: 0, last: true, preamble: preamble)
        report(r, label: "", name: path)
        if o.truncateToTimestamp != nil { try finishTimestamp(base: nil) }
    }

    func startProgress(total: Int?) {
        progress = Progress(label: "cairn-check-aof", total: total, enabled: o.progress && !o.json)
    }

    enum SingleResult { case ok, empty, truncated, cut }

    func report(_ r: SingleResult, label: String, name: String) {
        switch r {
        case .ok: say("\(label)AOF \(name) is valid")
        case .empty: say("\(label)AOF \(name) is empty")
        case .truncated: say("Successfully truncated AOF \(name)")
        case .cut: say("Successfully truncated AOF \(name) to timestamp \(o.truncateToTimestamp!)")
        }
    }

    // MARK: - Multi part

    func checkMultiPart(_ path: String) throws {
        say("Start checking Multi Part AOF")
        manifestPath = path
        let bytes = try readManifest(path)
        let m: AOFManifest
        do {
            m = try AOFManifest.parse(bytes)
        } catch let e as AOFManifestError {
            logFatal(e)
            let offset = e.lineNumber.map { AOFCheckRun.chunkOffset(bytes, line: $0) } ?? 0
            problem = AOFCheckProblem(file: AOFCheckRepair.baseName(path), path: path, offset: offset, okUpTo: nil,
                                      reason: e.description + (e.lineNumber.map { " (line \($0))" } ?? ""))
            note("problem in manifest \(path) at offset \(offset): \(problem!.reason)")
            throw Abort(code: .invalid)
        }
        manifest = m
        let dir = AOFCheckRepair.dirName(path)
        let order = m.loadOrder
        var total = 0
        var anyGzip = false
        for e in order {
            let p = dir + "/" + e.name
            total += (try? AOFCheckFile(path: p).size) ?? 0
            if isGzipFile(p) { anyGzip = true }
        }
        startProgress(total: anyGzip ? nil : total)
        var index = 0
        if let base = m.base {
            let filepath = dir + "/" + base.name
            index += 1
            let rdb: Bool
            do {
                _ = try AOFCheckFile(path: filepath)
                rdb = try isRDB(filepath)
            } catch let e as IOError {
                say("Cannot open file \(filepath): \(e.reason)")
                missing(base.name, filepath, "base", e.reason)
                throw Abort(code: .invalid)
            }
            say("Start to check BASE AOF (\(rdb ? "RDB" : "RESP") format).")
            let r = try checkSingle(name: base.name, path: filepath, role: "base", index: 0, last: index == order.count, preamble: rdb)
            report(r, label: "BASE ", name: base.name)
        }
        if !m.incrs.isEmpty && cut == nil {
            say("Start to check INCR files.")
            for (i, incr) in m.incrs.enumerated() {
                let filepath = dir + "/" + incr.name
                index += 1
                let r = try checkSingle(name: incr.name, path: filepath, role: "incr", index: i, last: index == order.count, preamble: false)
                report(r, label: "INCR ", name: incr.name)
                if cut != nil { break }
            }
        }
        if let cut {
            if cut.role == "incr" && cut.offset == 0 {
                droppedFiles.append((cut.file, cut.size))
                note("dropped INCR \(cut.file) (\(cut.size) bytes): it starts after timestamp \(o.truncateToTimestamp!)")
            }
            let after = cut.role == "base" ? m.incrs[...] : m.incrs[(cut.index + 1)...]
            for e in after {
                let size = (try? AOFCheckFile(path: dir + "/" + e.name).size) ?? 0
                droppedFiles.append((e.name, size))
                note("dropped INCR \(e.name) (\(size) bytes): it holds what was written after the cut")
            }
        }
        say("All AOF files and manifest are valid")
        if o.truncateToTimestamp != nil { try finishTimestamp(base: dir) }
    }

    func missing(_ name: String, _ path: String, _ role: String, _ reason: String) {
        files.append(AOFCheckedFile(name: name, path: path, role: role, format: "resp", size: nil, status: "missing"))
        guard let manifestPath, let bytes = try? readManifest(manifestPath) else {
            problem = AOFCheckProblem(file: name, path: path, offset: 0, okUpTo: nil, reason: "cannot open the file: \(reason)")
            note("problem in \(path) at offset 0: cannot open the file: \(reason)")
            return
        }
        // The problem is the manifest line naming the file: its offset there.
        let needle = Array(name.utf8)
        var at = 0
        if !needle.isEmpty, needle.count <= bytes.count {
            for i in 0 ... bytes.count - needle.count where bytes[i ..< i + needle.count].elementsEqual(needle) {
                at = i
                while at > 0 && bytes[at - 1] != 10 { at -= 1 }
                break
            }
        }
        problem = AOFCheckProblem(file: AOFCheckRepair.baseName(manifestPath), path: manifestPath, offset: at, okUpTo: nil,
                                  reason: "the \(role.uppercased()) file \(name) it lists cannot be opened: \(reason)")
        note("problem in manifest \(manifestPath) at offset \(at): \(problem!.reason)")
    }

    /// The manifest's bytes (at most 64 MiB: a real one is a few lines).
    func readManifest(_ path: String) throws -> [UInt8] {
        let input = try AOFCheckInput(path: path, start: 0)
        var bytes: [UInt8] = []
        var tail: (UInt8, UInt8) = (0, 0)
        _ = try input.fread(64 << 20, keep: 64 << 20, head: &bytes, tail: &tail)
        return bytes
    }

    /// The offset where 1-based line `line` starts, with the manifest reader's 1024-byte chunks.
    static func chunkOffset(_ bytes: [UInt8], line: Int) -> Int {
        var pos = 0
        var n = 1
        while pos < bytes.count && n < line {
            var end = pos
            let limit = min(bytes.count, pos + 1024)
            while end < limit {
                end += 1
                if bytes[end - 1] == 10 { break }
            }
            pos = end
            n += 1
        }
        return pos
    }

    /// The manifest error as redis-check-aof prints it: Redis's log lines on standard output.
    func logFatal(_ e: AOFManifestError) {
        let prefix = serverLogPrefix()
        sayBytes(Array((prefix + "\n*** FATAL AOF MANIFEST FILE ERROR ***\n").utf8))
        if let line = e.lineNumber, let text = e.lineText {
            sayBytes(Array((prefix + "Reading the manifest file, at line \(line)\n").utf8))
            sayBytes(Array((prefix + ">>> '").utf8) + text + Array("'\n".utf8))
        }
        sayBytes(Array((prefix + e.description + "\n").utf8))
    }

    /// The start of a line of Redis's log as redis-check-aof prints it: "<pid>:C <date> # ".
    func serverLogPrefix() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec)
        var tmv = tm()
        localtime_r(&t, &tmv)
        var buf = [CChar](repeating: 0, count: 64)
        let n = strftime(&buf, 64, "%d %b %Y %H:%M:%S.", &tmv)
        let ms = Int(tv.tv_usec) / 1000
        let stamp = String(decoding: buf[0 ..< n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            + (ms < 10 ? "00" : ms < 100 ? "0" : "") + String(ms)
        return "\(getpid()):C \(stamp) # "
    }

    // MARK: - One file

    func checkSingle(name: String, path: String, role: String, index: Int, last: Bool, preamble: Bool) throws -> SingleResult {
        var entry = AOFCheckedFile(name: name, path: path, role: role, format: preamble ? "rdb-preamble" : "resp",
                                   size: nil, status: "valid")
        defer { doneBefore += entry.size ?? 0 }
        let file: AOFCheckFile
        do {
            file = try AOFCheckFile(path: path)
        } catch let e as IOError {
            say("Cannot open file \(path): \(e.reason), aborting...")
            missing(name, path, role, e.reason)
            throw Abort(code: .invalid)
        }
        let gzip = isGzipFile(path)
        var size: Int? = gzip ? nil : file.size
        entry.size = size
        let gzipEmpty = gzip ? try head(path, 1).isEmpty : false
        if size == 0 || gzipEmpty {
            entry.size = 0
            entry.status = "empty"
            files.append(entry)
            return .empty
        }
        var start = 0
        if preamble {
            let base = doneBefore
            let rdb = AOFCheckRDB.check(name: name, path: path, say: { self.sayBytes($0) },
                                        progress: { self.progress?.update(base + $0) })
            entry.rdb = rdb
            if let e = rdb.error {
                if rdb.terminated {
                    say(serverLogPrefix() + "Terminating server after rdb file reading failure.")
                } else {
                    say("RDB preamble of AOF file is not sane, aborting.")
                }
                entry.status = "invalid"
                files.append(entry)
                problem = AOFCheckProblem(file: name, path: path, offset: e.offset, okUpTo: nil,
                                          reason: "RDB preamble: \(e.context): expected \(e.expected), found \(e.found)"
                                              + (e.key.map { " (key \(ByteText.quoted($0)))" } ?? ""))
                note("problem in \(path) at offset \(e.offset): \(problem!.reason)")
                throw Abort(code: .invalid)
            }
            say("RDB preamble is OK, proceeding with AOF tail...")
            start = rdb.end
        }
        let input = try AOFCheckInput(path: path, start: start)
        let base = doneBefore
        input.onProgress = { [weak self] at in self?.progress?.update(base + at) }
        let s = try scanner.scan(input, filepath: path, timestamp: o.truncateToTimestamp)
        entry.commands = s.commands
        entry.annotations = s.annotations
        entry.okUpTo = s.okUpTo
        if size == nil { size = s.end }
        if s.formatError { say("AOF \(name) format error") }
        if let line = s.errorLine { sayBytes(line) }
        if let at = s.invalidTimestampAt {
            say("Invalid timestamp annotation")
            entry.status = "invalid"
            files.append(entry)
            problem = AOFCheckProblem(file: name, path: path, offset: at, okUpTo: s.okUpTo,
                                      reason: "a #TS: annotation that is not digits followed by \\r\\n")
            note("problem in \(path) at offset \(at): \(problem!.reason)")
            throw Abort(code: .invalid)
        }
        if let c = s.cut, let limit = o.truncateToTimestamp {
            if c.offset == 0 && (role != "incr" || redisTruncation) {
                say("AOF \(path) has nothing before timestamp \(limit), aborting...")
                entry.status = "invalid"
                files.append(entry)
                problem = AOFCheckProblem(file: name, path: path, offset: 0, okUpTo: 0,
                                          reason: "the file starts after timestamp \(limit) (#TS:\(c.timestamp))")
                throw Abort(code: .invalid)
            }
            // redis-check-aof cuts only the last file (checked after "nothing before", as it does).
            if redisTruncation && !last {
                say("Failed to truncate AOF \(path) to timestamp \(limit) to offset \(c.offset) because it is not the last file.")
                say("If you insist, please delete all files after this file according to the manifest file and delete the corresponding records in manifest file manually. Then re-run redis-check-aof.")
                entry.status = "invalid"
                files.append(entry)
                problem = AOFCheckProblem(file: name, path: path, offset: c.offset, okUpTo: c.offset,
                                          reason: "the first annotation after timestamp \(limit) is not in the last file")
                throw Abort(code: .invalid)
            }
            entry.status = "cut"
            entry.size = size
            files.append(entry)
            cut = AOFCutInfo(file: name, path: path, role: role, index: index, offset: c.offset, annotation: c.timestamp,
                             size: size ?? c.offset, insideMulti: s.cutInsideMulti)
            let total = size ?? c.offset
            let place = s.cutInsideMulti ? "before the MULTI holding #TS:\(c.timestamp)" : "before #TS:\(c.timestamp)"
            note("cut \(name) at offset \(c.offset), \(place), the first annotation after \(limit): "
                 + "\(c.offset) of \(total) bytes kept, \(total - c.offset) dropped")
            return .cut
        }
        let fileSize = size ?? s.end
        entry.size = fileSize
        let diff = fileSize - s.okUpTo
        if diff == 0, let limit = o.truncateToTimestamp {
            say("Truncate nothing in AOF \(name) to timestamp \(limit)")
            files.append(entry)
            return .ok
        }
        say("AOF analyzed: filename=\(name), size=\(fileSize), ok_up_to=\(s.okUpTo), ok_up_to_line=\(scanner.line), diff=\(diff)")
        entry.okUpToLine = scanner.line
        guard diff > 0 else {
            files.append(entry)
            return .ok
        }
        entry.status = "invalid"
        files.append(entry)
        let p = AOFCheckProblem(file: name, path: path, offset: s.problemAt, okUpTo: s.okUpTo, reason: s.reason,
                                checkAOFLine: s.errorLine, command: s.command, cairnOnly: s.cairnOnly)
        problem = p
        note(describe(p))
        guard o.fix else {
            say("AOF \(name) is not valid. Use the --fix option to try fixing it.")
            throw Abort(code: .invalid)
        }
        return try repair(p, name: name, path: path, size: fileSize, last: last)
    }

    func describe(_ p: AOFCheckProblem) -> String {
        var s = "problem in \(p.path) at offset \(p.offset): \(p.reason)"
        if let c = p.command {
            var what = "in the command at offset \(c.start)"
            if let name = c.name { what = "in \(ByteText.quoted(name, limit: 32)) at offset \(c.start)" }
            if let a = c.argument, let argc = c.argc { what += " (argument \(a + 1) of \(argc))" }
            s += "; " + what
        }
        if let ok = p.okUpTo { s += "; valid up to offset \(ok)" }
        if p.cairnOnly { s += " (redis-check-aof 7.0 lets this pass, but the loaders refuse it)" }
        return s
    }

    // MARK: - --fix

    func repair(_ p: AOFCheckProblem, name: String, path: String, size: Int, last: Bool) throws -> SingleResult {
        let to = p.okUpTo ?? 0
        var info = AOFFixInfo(file: name, path: path, from: size, to: to)
        defer { fix = info }
        guard last else {
            say("Failed to truncate AOF \(name) because it is not the last file")
            info.refused = "the problem is not in the last file: truncating it would leave later files that continue from the lost commands"
            note(info.refused!)
            throw Abort(code: .invalid)
        }
        if let later = try AOFCheckRepair.laterRecord(path: path, after: p.offset) {
            info.refused = "the problem at offset \(p.offset) is not at the end of the file: a complete record starts at offset \(later) after it, "
                + "and truncating to \(to) bytes would drop it and everything after"
            say("Failed to truncate AOF \(name) because \(info.refused!)")
            say("If you accept that loss, truncate it yourself: truncate -s \(to) \(path)")
            throw Abort(code: .invalid)
        }
        say("This will shrink the AOF \(name) from \(size) bytes, with \(size - to) bytes, to \(to) bytes")
        if !o.yes {
            let prompt = "Continue? [y/N]: "
            if o.json {
                printErrorNoNewline(prompt)
            } else {
                progress?.finish()
                try? out.write(prompt)
                try? out.flush()
            }
            let answer = readAnswer()
            guard answer == UInt8(ascii: "y") || answer == UInt8(ascii: "Y") else {
                say("Aborting...")
                info.refused = "not confirmed"
                throw Abort(code: .invalid)
            }
        }
        if o.backup {
            let bak = AOFCheckRepair.backupName(path)
            try AOFCheckRepair.copy(from: path, to: bak)
            info.backup = bak
            note("kept the original as \(bak)")
        }
        do {
            try AOFCheckRepair.truncate(path, to: to)
        } catch {
            say("Failed to truncate AOF \(name)")
            throw error
        }
        info.done = true
        if var f = files.popLast() {
            f.status = "fixed"
            files.append(f)
        }
        return .truncated
    }

    /// The first byte of a line read from standard input (0 at the end of the input).
    func readAnswer() -> UInt8 {
        var first: UInt8 = 0
        var got = false
        var c: UInt8 = 0
        while read(0, &c, 1) == 1 {
            if !got { first = c; got = true }
            if c == 10 { break }
        }
        return first
    }

    func printErrorNoNewline(_ s: String) {
        let b = Array(s.utf8)
        _ = b.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    // MARK: - --truncate-to-timestamp

    /// Writes the history up to the cut: to --out DIR, or in place. `base`: the manifest's folder
    /// (nil for a single file).
    func finishTimestamp(base dir: String?) throws {
        let limit = o.truncateToTimestamp!
        if let outDir = o.outDir {
            if access(outDir, F_OK) != 0 && mkdir(outDir, 0o755) != 0 { throw IOError(path: outDir, errno: errno) }
            if let dir, let m = manifest, let manifestPath {
                var kept = AOFManifest()
                if let b = m.base {
                    let limitBytes = cut?.role == "base" ? cut!.offset : nil
                    try AOFCheckRepair.copy(from: dir + "/" + b.name, to: outDir + "/" + b.name, limit: limitBytes)
                    kept.base = b
                }
                if cut?.role != "base" {
                    for (i, e) in m.incrs.enumerated() {
                        if let c = cut, i > c.index { break }
                        if let c = cut, i == c.index {
                            if c.offset == 0 { break }
                            try AOFCheckRepair.copy(from: dir + "/" + e.name, to: outDir + "/" + e.name, limit: c.offset)
                        } else {
                            try AOFCheckRepair.copy(from: dir + "/" + e.name, to: outDir + "/" + e.name)
                        }
                        kept.incrs.append(e)
                    }
                }
                let manifestName = AOFCheckRepair.baseName(manifestPath)
                try AOFCheckRepair.writeFile(outDir + "/" + manifestName, kept.encoded())
                note("wrote the AOF up to timestamp \(limit) to \(outDir): \(manifestName) and \(kept.loadOrder.count) file(s)")
            } else {
                let target = outDir + "/" + AOFCheckRepair.baseName(o.path)
                try AOFCheckRepair.copy(from: o.path, to: target, limit: cut?.offset)
                note("wrote the AOF up to timestamp \(limit) to \(target)")
            }
            try AOFCheckRepair.fsyncDirectory(of: outDir + "/x")
            written = outDir
            return
        }
        // In place.
        guard let c = cut else { return }
        if redisTruncation {
            // The cut is in the last file (checked when it was found): truncate it, nothing else.
            try AOFCheckRepair.truncate(c.path, to: c.offset)
            written = dir ?? o.path
            return
        }
        if !(c.role == "incr" && c.offset == 0) {
            if o.backup {
                let bak = AOFCheckRepair.backupName(c.path)
                try AOFCheckRepair.copy(from: c.path, to: bak)
                note("kept the original \(c.file) as \(bak)")
            }
            try AOFCheckRepair.truncate(c.path, to: c.offset)
        }
        if let m = manifest, let manifestPath {
            var kept = m
            kept.history = m.history
            if c.role == "base" {
                kept.incrs = []
            } else {
                kept.incrs = Array(m.incrs[0 ..< (c.offset == 0 ? c.index : c.index + 1)])
            }
            if o.backup {
                let bak = AOFCheckRepair.backupName(manifestPath)
                try AOFCheckRepair.copy(from: manifestPath, to: bak)
                note("kept the original manifest as \(bak)")
            }
            try AOFCheckRepair.writeFile(manifestPath, kept.encoded())
            if !droppedFiles.isEmpty {
                note("the dropped files are no longer listed in \(manifestPath) but are left on disk: "
                     + droppedFiles.map(\.name).joined(separator: ", "))
            }
        }
        written = dir ?? o.path
    }

    // MARK: - JSON

    func writeJSON(_ code: ToolExit) {
        let j = out
        func str(_ s: String) { j.writeJSONString(Array(s.utf8)) }
        func key(_ k: String) { try? j.write("\"\(k)\":") }
        func num(_ n: Int?) { try? j.write(n.map(String.init) ?? "null") }
        try? j.write("{")
        key("tool"); str("cairn-check-aof"); try? j.write(",")
        key("input"); str(o.path); try? j.write(",")
        key("kind"); str(kind); try? j.write(",")
        key("ok"); try? j.write(code == .ok ? "true" : "false"); try? j.write(",")
        key("valid"); try? j.write(problem == nil && ioError == nil ? "true" : "false"); try? j.write(",")
        key("exit_code"); num(Int(code.rawValue)); try? j.write(",")
        key("files"); try? j.write("[")
        for (i, f) in files.enumerated() {
            if i > 0 { try? j.write(",") }
            try? j.write("{")
            key("name"); str(f.name); try? j.write(",")
            key("path"); str(f.path); try? j.write(",")
            key("role"); str(f.role); try? j.write(",")
            key("format"); str(f.format); try? j.write(",")
            key("size"); num(f.size); try? j.write(",")
            key("status"); str(f.status); try? j.write(",")
            key("ok_up_to"); num(f.okUpTo); try? j.write(",")
            key("ok_up_to_line"); num(f.okUpToLine); try? j.write(",")
            key("commands"); num(f.commands); try? j.write(",")
            key("annotations"); num(f.annotations)
            if let r = f.rdb {
                try? j.write(",")
                key("rdb"); try? j.write("{")
                key("dialect"); if let d = r.dialect { str(d) } else { try? j.write("null") }; try? j.write(",")
                key("end"); num(r.error == nil ? r.end : nil); try? j.write(",")
                key("keys"); num(r.keys); try? j.write(",")
                key("expires"); num(r.expires); try? j.write(",")
                key("already_expired"); num(r.alreadyExpired)
                try? j.write("}")
            }
            try? j.write("}")
        }
        try? j.write("],")
        key("problem")
        if let p = problem {
            try? j.write("{")
            key("file"); str(p.file); try? j.write(",")
            key("path"); str(p.path); try? j.write(",")
            key("offset"); num(p.offset); try? j.write(",")
            key("ok_up_to"); num(p.okUpTo); try? j.write(",")
            key("reason"); str(p.reason); try? j.write(",")
            key("redis_check_aof"); if let l = p.checkAOFLine { j.writeJSONString(l) } else { try? j.write("null") }; try? j.write(",")
            key("cairn_only"); try? j.write(p.cairnOnly ? "true" : "false"); try? j.write(",")
            key("command")
            if let c = p.command {
                try? j.write("{")
                key("offset"); num(c.start); try? j.write(",")
                key("name"); if let n = c.name { j.writeJSONString(n) } else { try? j.write("null") }; try? j.write(",")
                key("argc"); num(c.argc); try? j.write(",")
                key("argument"); num(c.argument)
                try? j.write("}")
            } else {
                try? j.write("null")
            }
            try? j.write("}")
        } else {
            try? j.write("null")
        }
        try? j.write(",")
        key("fix")
        if let f = fix {
            try? j.write("{")
            key("file"); str(f.file); try? j.write(",")
            key("path"); str(f.path); try? j.write(",")
            key("from"); num(f.from); try? j.write(",")
            key("to"); num(f.to); try? j.write(",")
            key("removed"); num(f.from - f.to); try? j.write(",")
            key("backup"); if let b = f.backup { str(b) } else { try? j.write("null") }; try? j.write(",")
            key("done"); try? j.write(f.done ? "true" : "false"); try? j.write(",")
            key("refused"); if let r = f.refused { str(r) } else { try? j.write("null") }
            try? j.write("}")
        } else {
            try? j.write("null")
        }
        try? j.write(",")
        key("truncate_to_timestamp")
        if let limit = o.truncateToTimestamp {
            try? j.write("{")
            key("timestamp"); try? j.write(String(limit)); try? j.write(",")
            key("cut")
            if let c = cut {
                try? j.write("{")
                key("file"); str(c.file); try? j.write(",")
                key("path"); str(c.path); try? j.write(",")
                key("offset"); num(c.offset); try? j.write(",")
                key("annotation"); try? j.write(String(c.annotation)); try? j.write(",")
                key("kept"); num(c.offset); try? j.write(",")
                key("dropped"); num(c.size - c.offset)
                try? j.write("}")
            } else {
                try? j.write("null")
            }
            try? j.write(",")
            key("dropped_files"); try? j.write("[")
            for (i, d) in droppedFiles.enumerated() {
                if i > 0 { try? j.write(",") }
                try? j.write("{"); key("name"); str(d.name); try? j.write(","); key("size"); num(d.size); try? j.write("}")
            }
            try? j.write("],")
            key("out"); if let w = o.outDir, written != nil { str(w) } else { try? j.write("null") }; try? j.write(",")
            key("in_place"); try? j.write(o.inPlace ? "true" : "false")
            try? j.write("}")
        } else {
            try? j.write("null")
        }
        try? j.write(",")
        key("error"); if let e = ioError { str(e) } else { try? j.write("null") }
        try? j.write("}\n")
    }
}
