// ConfigFile: start-up configuration as redis-server reads it. The file (and/or stdin when an argument
// is "-") is read whole, then the command-line options are appended as more lines: `--port 6380
// --save ""` becomes the lines `port "6380"` and `save ""`. Each line:
// trimmed, skipped when empty or starting with '#', split with Redis's quoting rules (sdssplitargs),
// the directive name case-insensitive. `include` reads another file (globs allowed) in place. The
// first error stops start-up with Redis's FATAL CONFIG FILE ERROR block.
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat

/// A start-up configuration error: `message` is the complete text to print before exiting with status 1.
public struct ConfigError: Error, CustomStringConvertible {
    /// The complete text, as redis-server prints it.
    public let message: String
    /// True when Redis reports it as a log line (on stdout / the log file, e.g. "Fatal error, can't open
    /// config file ..."), false for the FATAL CONFIG FILE ERROR block Redis writes to stderr.
    public let isLogLine: Bool
    /// The text without the log line prefix (for the server's own logger).
    public let detail: String
    public var description: String { message }
}

/// Reads the configuration from the command line arguments (without the program name), exactly as
/// redis-server does: an optional config file path first (or "-" for stdin, first or last), then
/// `--name value ...` options appended as config lines. Throws ConfigError with the text to print.
/// `commandNames`, when given, lets `rename-command` check its names as Redis does.
public func loadConfig(arguments: [String], commandNames: Set<String>? = nil,
                       readStdin: (() -> [UInt8])? = nil) throws -> ServerConfig {
    let config = ServerConfig()
    guard !arguments.isEmpty else { return config }
    var loader = ConfigLoader(config: config, commandNames: commandNames)
    var j = 0
    var file: String? = nil
    if !arguments[0].hasPrefix("-") {
        file = absolutePath(arguments[0])
        config.configFile = file
        j = 1
    }
    var fromStdin = false
    var options: [UInt8] = []
    var handledLastConfigArg = true
    let argc = arguments.count
    while j < argc {
        let a = arguments[j]
        let isLast = j == argc - 1
        if a == "-" && (j == 0 || isLast) {
            fromStdin = true
        } else if handledLastConfigArg && a.hasPrefix("--") {
            if !options.isEmpty { options.append(10) }
            options.append(contentsOf: a.utf8.dropFirst(2))
            options.append(32)
            let parts = Array(a.utf8).withUnsafeBytes { RESPRequestParser.splitArguments($0) } ?? []
            if parts.count == 1 {
                handledLastConfigArg = false
                let next = isLast ? nil : arguments[j + 1]
                let nextIsOption = next?.hasPrefix("--") ?? false
                let lower = a.lowercased()
                if lower == "--save" && !isLast && nextIsOption {
                    // `--save --port 1` means `--save "" --port 1`.
                    options.append(contentsOf: "\"\"".utf8)
                    handledLastConfigArg = true
                } else if lower == "--save" && isLast {
                    options.append(contentsOf: "\"\"".utf8)
                } else if lower == "--sentinel" && !isLast && nextIsOption {
                    handledLastConfigArg = true
                }
            } else {
                handledLastConfigArg = true
            }
        } else {
            appendRepr(Array(a.utf8), to: &options)
            options.append(32)
            handledLastConfigArg = true
        }
        j += 1
    }

    var text: [UInt8] = []
    if let file { text = try loader.readConfigFile(file) }
    if fromStdin { text += readStdin?() ?? readAllStdin() }
    text.append(10)
    text += options
    try loader.load(text)
    return config
}

/// Redis's sdscatrepr: a double-quoted string with escapes for quotes, backslashes and unprintable bytes.
func appendRepr(_ s: [UInt8], to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for c in s {
        switch c {
        case UInt8(ascii: "\\"): out += [92, 92]
        case UInt8(ascii: "\""): out += [92, 34]
        case 10: out += [92, UInt8(ascii: "n")]
        case 13: out += [92, UInt8(ascii: "r")]
        case 9: out += [92, UInt8(ascii: "t")]
        case 7: out += [92, UInt8(ascii: "a")]
        case 8: out += [92, UInt8(ascii: "b")]
        case 32 ... 126: out.append(c)
        default:
            let hex = Array("0123456789abcdef".utf8)
            out += [92, UInt8(ascii: "x"), hex[Int(c >> 4)], hex[Int(c & 15)]]
        }
    }
    out.append(UInt8(ascii: "\""))
}

/// The path made absolute against the working directory, with leading "../" resolved as Redis does.
func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    var cwd = currentDirectory()
    if cwd.hasSuffix("/") && cwd.count > 1 { cwd.removeLast() }
    var rel = Substring(path)
    while true {
        if rel.hasPrefix("./") { rel = rel.dropFirst(2); continue }
        if rel.hasPrefix("../") {
            rel = rel.dropFirst(3)
            if cwd != "/", let slash = cwd.lastIndex(of: "/") {
                cwd = slash == cwd.startIndex ? "/" : String(cwd[..<slash])
            }
            continue
        }
        break
    }
    return cwd == "/" ? "/" + rel : cwd + "/" + rel
}

private func readAllStdin() -> [UInt8] {
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(0, &buf, buf.count)
        if n <= 0 { break }
        out += buf[0 ..< n]
    }
    return out
}

/// Reads a whole file, or nil with errno set.
func readWholeFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY)
    if fd < 0 { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buf, buf.count)
        if n < 0 { return nil }
        if n == 0 { break }
        out += buf[0 ..< n]
    }
    return out
}

/// Formats a line as Redis's logger does before the server is set up: "pid:C dd Mon yyyy hh:mm:ss.mmm # text".
func startupLogLine(_ text: String) -> String {
    var tv = timeval()
    gettimeofday(&tv, nil)
    var t = tv.tv_sec
    var tmv = tm()
    localtime_r(&t, &tmv)
    var buf = [CChar](repeating: 0, count: 64)
    _ = strftime(&buf, 64, "%d %b %Y %H:%M:%S.", &tmv)
    let ms = Int(tv.tv_usec) / 1000
    let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
    return "\(getpid()):C \(stringFromCBuffer(buf))\(msText) # \(text)"
}

/// Applies config text to a ServerConfig line by line.
struct ConfigLoader {
    let config: ServerConfig
    let commandNames: Set<String>?
    /// The first `save` line of a load replaces the default rules; later ones add to them.
    var saveLoaded = false

    init(config: ServerConfig, commandNames: Set<String>?) {
        self.config = config
        self.commandNames = commandNames
    }

    /// A file's bytes (all matches concatenated for a glob pattern); Redis's fatal error otherwise.
    func readConfigFile(_ path: String) throws -> [UInt8] {
        if path.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) {
            var g = glob_t()
            defer { globfree(&g) }
            guard glob(path, 0, nil, &g) == 0 else { return [] }
            var out: [UInt8] = []
            for i in 0 ..< Int(g.gl_pathc) {
                guard let p = g.gl_pathv[i] else { continue }
                let name = String(cString: p)
                guard let b = readWholeFile(name) else { throw cannotOpen(name) }
                out += b
            }
            return out
        }
        guard let b = readWholeFile(path) else { throw cannotOpen(path) }
        return b
    }

    private func cannotOpen(_ path: String) -> ConfigError {
        let detail = "Fatal error, can't open config file '\(path)': \(String(cString: strerror(errno)))"
        return ConfigError(message: startupLogLine(detail) + "\n", isLogLine: true, detail: detail)
    }

    mutating func load(_ text: [UInt8]) throws {
        let lines = text.split(separator: 10, omittingEmptySubsequences: false)
        for (n, raw) in lines.enumerated() {
            let line = trim(Array(raw))
            if line.isEmpty || line[0] == UInt8(ascii: "#") { continue }
            func fail(_ e: String) -> ConfigError {
                var m = "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
                m += "Reading the configuration file, at line \(n + 1)\n"
                m += ">>> '\(String(decoding: line, as: UTF8.self))'\n"
                m += e + "\n"
                return ConfigError(message: m, isLogLine: false, detail: e)
            }
            guard var argv = line.withUnsafeBytes({ RESPRequestParser.splitArguments($0) }) else {
                throw fail("Unbalanced quotes in configuration line")
            }
            if argv.isEmpty { continue }
            argv[0] = argv[0].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
            let name = String(decoding: argv[0], as: UTF8.self)
            let argc = argv.count

            if let i = ConfigTable.index[name] {
                let p = ConfigTable.parameters[i]
                let multi = p.flags.contains(.multiArg)
                if !multi && argc != 2 { throw fail("wrong number of arguments") }
                var args = Array(argv.dropFirst())
                if multi && argc == 2 && !argv[1].isEmpty {
                    args = argv[1].withUnsafeBytes { RESPRequestParser.splitArguments($0) } ?? []
                }
                let isSave = p.name == "save"
                if let e = config.load(i, args, appendSave: isSave && saveLoaded) { throw fail(e.message) }
                if isSave { saveLoaded = true }
                continue
            }
            if let range = ConfigTable.deprecated[name], range.contains(argc) { continue }

            switch name {
            case "include" where argc == 2:
                let path = String(decoding: argv[1], as: UTF8.self)
                var nested = ConfigLoader(config: config, commandNames: commandNames)
                nested.saveLoaded = saveLoaded
                try nested.load(try readConfigFile(path))
                saveLoaded = nested.saveLoaded
            case "rename-command" where argc == 3:
                if let names = commandNames {
                    let from = String(decoding: argv[1], as: UTF8.self).lowercased()
                    let to = String(decoding: argv[2], as: UTF8.self).lowercased()
                    if !names.contains(from) { throw fail("No such command in rename-command") }
                    if !to.isEmpty && names.contains(to) { throw fail("Target command name already exists") }
                }
                config.renamedCommands.append((argv[1], argv[2]))
            case "user" where argc >= 2:
                // A user may be declared once (Redis refuses the file at the second declaration).
                if config.userDirectives.contains(where: { $0.first == argv[1] }) {
                    throw fail("Error in user declaration '\(String(decoding: argv[1], as: UTF8.self))': Duplicate user found. A user can only be defined once in config files")
                }
                config.userDirectives.append(Array(argv.dropFirst()))
            case "loadmodule" where argc >= 2:
                config.loadModules.append(Array(argv.dropFirst()))
            case _ where name.contains("."):
                if argc < 2 { throw fail("Module config specified without value") }
                config.moduleConfigs.append(argv)
            case "sentinel":
                if argc != 1 { throw fail("sentinel directive while not in sentinel mode") }
            default:
                throw fail("Bad directive or wrong number of arguments")
            }
        }
    }
}

/// Trims spaces, tabs, CR and LF at both ends (sdstrim " \t\r\n").
func trim(_ b: [UInt8]) -> [UInt8] {
    func ws(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }
    var s = 0, e = b.count
    while s < e && ws(b[s]) { s += 1 }
    while e > s && ws(b[e - 1]) { e -= 1 }
    return Array(b[s ..< e])
}
