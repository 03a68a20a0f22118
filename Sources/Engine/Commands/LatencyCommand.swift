// LATENCY LATEST | HISTORY event | RESET [event ...] | DOCTOR | GRAPH event | HISTOGRAM [command ...] | HELP:
// the latency monitor's samples and the per-command duration histograms (Core/Latency.swift).
// DOCTOR's report and GRAPH's drawing are Cairn's own wording and layout.

enum LatencyCommand {
    static var spec: CommandSpec {
        CommandSpec("latency", arity: -2, flags: [.admin, .noScript, .loading, .stale]) { ctx in run(ctx) }
    }

    static func run(_ ctx: CommandContext) {
        guard checkSubcommand(ctx, ["LATEST": 2, "HISTORY": 3, "RESET": -2, "DOCTOR": 2, "GRAPH": 3, "HISTOGRAM": -2, "HELP": 2]) else { return }
        let monitor = ctx.engine.latency
        switch ctx.option(1) {
        case "LATEST":
            let events = monitor.events.sorted { $0.key < $1.key }
            ctx.arrayHeader(events.count)
            for (name, series) in events {
                let last = series.samples.last ?? LatencyMonitor.Sample(time: 0, ms: 0)
                ctx.arrayHeader(4)
                ctx.bulk(Array(name.utf8))
                ctx.integer(last.time)
                ctx.integer(last.ms)
                ctx.integer(series.max)
            }
        case "HISTORY":
            let samples = monitor.events[String(decoding: ctx.args[2], as: UTF8.self)]?.samples ?? []
            ctx.arrayHeader(samples.count)
            for s in samples {
                ctx.arrayHeader(2)
                ctx.integer(s.time)
                ctx.integer(s.ms)
            }
        case "RESET":
            ctx.integer(monitor.reset((2 ..< ctx.argc).map { String(decoding: ctx.args[$0], as: UTF8.self) }))
        case "DOCTOR":
            ctx.verbatim(Array(doctor(monitor).utf8))
        case "GRAPH":
            let name = String(decoding: ctx.args[2], as: UTF8.self)
            guard let series = monitor.events[name], !series.samples.isEmpty else {
                return ctx.error("ERR No samples available for event '\(name)'")
            }
            ctx.verbatim(Array(graph(name, series, now: Int(ctx.now / 1000)).utf8))
        case "HISTOGRAM":
            histogram(ctx)
        default:
            helpReply(ctx, [
                "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR", "    Return a human readable latency analysis report.",
                "GRAPH <event>", "    Return an ASCII latency graph for the <event> class.",
                "HISTORY <event>", "    Return time-latency samples for the <event> class.",
                "LATEST", "    Return the latest latency samples for all events.",
                "RESET [<event> ...]", "    Reset latency data of one or more <event> classes.",
                "    (default: reset all data for all event classes)",
                "HISTOGRAM [COMMAND ...]",
                "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
                "    If no commands are specified then all histograms are replied.",
                "HELP", "    Prints this help.",
            ])
        }
    }

    /// HISTOGRAM: command → {calls, histogram_usec: {µs level: calls at or below}}.
    static func histogram(_ ctx: CommandContext) {
        let all = ctx.engine.commandHistograms()
        var chosen: [(String, LatencyHistogram)] = []
        if ctx.argc == 2 {
            chosen = all
        } else {
            let byName = Dictionary(all, uniquingKeysWith: { a, _ in a })
            var seen = Set<String>()
            for i in 2 ..< ctx.argc {
                let name = String(decoding: ctx.args[i], as: UTF8.self).lowercased()
                if let h = byName[name], seen.insert(name).inserted { chosen.append((name, h)) }
                // A container command's name stands for all of its subcommands ("client" → client|id ...).
                if !name.contains("|") {
                    for (sub, h) in all where sub.hasPrefix(name + "|") && seen.insert(sub).inserted { chosen.append((sub, h)) }
                }
            }
        }
        ctx.mapHeader(chosen.count)
        for (name, h) in chosen {
            ctx.bulk(Array(name.utf8))
            ctx.mapHeader(2)
            ctx.bulk(Array("calls".utf8))
            ctx.integer(Int(h.total))
            ctx.bulk(Array("histogram_usec".utf8))
            let cdf = h.cumulativeDistribution()
            ctx.mapHeader(cdf.count)
            for (usec, count) in cdf {
                ctx.integer(Int(usec))
                ctx.integer(Int(count))
            }
        }
    }

    /// A plain-language report of what the monitor saw.
    static func doctor(_ m: LatencyMonitor) -> String {
        if m.threshold == 0 && m.events.isEmpty {
            return "The latency monitor is off (latency-monitor-threshold is 0), so there is nothing to report. " +
                "Turn it on with CONFIG SET latency-monitor-threshold <milliseconds>.\n"
        }
        if m.events.isEmpty {
            return "No event has reached the latency threshold of \(m.threshold) ms so far.\n"
        }
        var out = "Latency report: events that took \(m.threshold) ms or more.\n\n"
        for (i, (name, s)) in m.events.sorted(by: { $0.key < $1.key }).enumerated() {
            let values = s.samples.map(\.ms)
            let mean = values.isEmpty ? 0 : values.reduce(0, +) / values.count
            let deviation = values.isEmpty ? 0 : values.map { abs($0 - mean) }.reduce(0, +) / values.count
            let span = (s.samples.last?.time ?? 0) - (s.samples.first?.time ?? 0)
            let period = values.count > 1 ? Double(span) / Double(values.count - 1) : 0
            out += "\(i + 1). \(name): \(values.count) spikes, mean \(mean) ms (deviation \(deviation) ms), "
            out += "one every \(format1(period)) s on average; the worst ever took \(s.max) ms.\n"
        }
        out += "\nWhat may help:\n"
        let names = Set(m.events.keys)
        if names.contains("command") || names.contains("fast-command") {
            out += "- SLOWLOG GET lists the slowest commands; big KEYS, SMEMBERS, HGETALL or LRANGE calls are the usual suspects.\n"
        }
        if names.contains("fork") {
            out += "- Forking for BGSAVE/BGREWRITEAOF copies the page tables: a large dataset makes fork slow.\n"
        }
        if names.contains(where: { $0.hasPrefix("aof") }) {
            out += "- The disk is slow to write or sync the AOF; appendfsync everysec trades a second of writes for speed.\n"
        }
        if names.contains("expire-cycle") || names.contains("eviction-cycle") {
            out += "- Many keys expiring or being evicted at once, or very large keys, make the background cycles long.\n"
        }
        return out
    }

    static func format1(_ d: Double) -> String {
        let tenths = Int((d * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// A bar per sample (newest last), scaled between the lowest and highest sample.
    static func graph(_ name: String, _ s: LatencyMonitor.Series, now: Int) -> String {
        let samples = s.samples.suffix(80)
        let high = samples.map(\.ms).max() ?? 0, low = samples.map(\.ms).min() ?? 0
        var out = "\(name) - high \(high) ms, low \(low) ms (all time high \(s.max) ms)\n"
        out += String(repeating: "-", count: 80) + "\n"
        let rows = 4
        for r in stride(from: rows, to: 0, by: -1) {
            var line = ""
            for smp in samples {
                let level = high == low ? rows : 1 + (smp.ms - low) * (rows - 1) / max(1, high - low)
                line += level >= r ? (level == r ? "_" : "#") : " "
            }
            out += line + "\n"
        }
        // Age of each sample, in seconds, written vertically under its bar.
        let ages = samples.map { String(max(0, now - $0.time)) + "s" }
        let depth = ages.map(\.count).max() ?? 0
        for d in 0 ..< depth {
            var line = ""
            for a in ages { line += d < a.count ? String(Array(a)[d]) : " " }
            out += line + "\n"
        }
        return out
    }
}
