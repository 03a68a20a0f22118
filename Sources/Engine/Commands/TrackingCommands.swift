// CLIENT TRACKING, CLIENT CACHING and CLIENT TRACKINGINFO: parse and check the options with Redis
// 7.0's error texts, then switch the client's mode (ClientTracking.swift keeps the table).
import StorageFormat

enum TrackingCommands {
    /// CLIENT TRACKING on|off [REDIRECT id] [PREFIX p]... [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
    static func tracking(_ ctx: CommandContext) {
        let e = ctx.engine, s = ctx.session
        var redirect = 0
        var bcast = false, optin = false, optout = false, noloop = false
        var prefixes: [ByteString] = []
        var j = 3
        while j < ctx.argc {
            let more = ctx.argc - 1 - j
            switch ctx.option(j) {
            case "REDIRECT" where more > 0:
                j += 1
                if redirect != 0 { ctx.error("ERR A client can only redirect to a single other client"); return }
                guard let id = ctx.integerArgument(j) else { return }
                if e.sessions[Int(id)] == nil {
                    ctx.error("ERR The client ID you want redirect to does not exist")
                    return
                }
                redirect = Int(id)
            case "BCAST": bcast = true
            case "OPTIN": optin = true
            case "OPTOUT": optout = true
            case "NOLOOP": noloop = true
            case "PREFIX" where more > 0:
                j += 1
                prefixes.append(ctx.key(j))
            default:
                ctx.syntaxError()
                return
            }
            j += 1
        }
        switch ctx.option(2) {
        case "ON":
            if !bcast && !prefixes.isEmpty { ctx.error("ERR PREFIX option requires BCAST mode to be enabled"); return }
            if s.tracking.on && s.tracking.bcast != bcast {
                ctx.error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
                return
            }
            if bcast && (optin || optout) { ctx.error("ERR OPTIN and OPTOUT are not compatible with BCAST"); return }
            if optin && optout { ctx.error("ERR You can't specify both OPTIN mode and OPTOUT mode"); return }
            if (optin && s.tracking.optout) || (optout && s.tracking.optin) {
                ctx.error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")
                return
            }
            if bcast, let message = overlap(s, prefixes) { ctx.error(message); return }
            e.enableTracking(s, redirect: redirect, bcast: bcast, optin: optin, optout: optout, noloop: noloop, prefixes: prefixes)
        case "OFF":
            e.disableTracking(s)
        default:
            ctx.syntaxError()
            return
        }
        ctx.ok()
    }

    /// Redis's check that no new prefix overlaps one the client has or another new one.
    static func overlap(_ s: Session, _ prefixes: [ByteString]) -> String? {
        func text(_ b: ByteString) -> String { String(decoding: b.bytes, as: UTF8.self) }
        for (i, p) in prefixes.enumerated() {
            for old in s.tracking.prefixes where Engine.prefixesOverlap(old, p) {
                return "ERR Prefix '\(text(p))' overlaps with an existing prefix '\(text(old))'. Prefixes for a single client must not overlap."
            }
            for q in prefixes[(i + 1)...] where Engine.prefixesOverlap(p, q) {
                return "ERR Prefix '\(text(p))' overlaps with another provided prefix '\(text(q))'. Prefixes for a single client must not overlap."
            }
        }
        return nil
    }

    /// CLIENT CACHING yes|no
    static func caching(_ ctx: CommandContext) {
        let s = ctx.session
        guard s.tracking.on else {
            ctx.error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
            return
        }
        switch ctx.option(2) {
        case "YES":
            guard s.tracking.optin else {
                ctx.error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
                return
            }
        case "NO":
            guard s.tracking.optout else {
                ctx.error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
                return
            }
        default:
            ctx.syntaxError()
            return
        }
        s.tracking.caching = true
        ctx.ok()
    }

    /// CLIENT TRACKINGINFO: flags, redirect, prefixes.
    static func trackingInfo(_ ctx: CommandContext) {
        let t = ctx.session.tracking
        var flags = [t.on ? "on" : "off"]
        if t.bcast { flags.append("bcast") }
        if t.optin {
            flags.append("optin")
            if t.caching { flags.append("caching-yes") }
        }
        if t.optout {
            flags.append("optout")
            if t.caching { flags.append("caching-no") }
        }
        if t.noloop { flags.append("noloop") }
        if t.brokenRedirect { flags.append("broken_redirect") }
        ctx.mapHeader(3)
        ctx.bulk("flags")
        ctx.setHeader(flags.count)
        for f in flags { ctx.bulk(f) }
        ctx.bulk("redirect")
        ctx.integer(t.on ? t.redirect : -1)
        ctx.bulk("prefixes")
        ctx.arrayHeader(t.prefixes.count)
        for p in t.prefixes { ctx.bulk(p) }
    }
}
