// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest common subsequence of two
// strings by the classic dynamic-programming table, walked back from the end as Redis walks it, so
// the matches come out in the same (reverse) order.

public enum LCSCommand {
    public static var all: [CommandSpec] {
        [CommandSpec("lcs", arity: -3, flags: [.readonly], firstKey: 1, lastKey: 2, step: 1, handler: lcs)]
    }

    static func lcs(_ ctx: CommandContext) {
        var values: [ByteString] = []
        for i in 1 ... 2 {
            switch ctx.lookupRead(ctx.key(i)) {
            case nil: values.append(ByteString())
            case .string(let s)?: values.append(s.byteString)
            default: return ctx.error("ERR The specified keys must contain string values")
            }
        }
        var getLen = false, getIdx = false, withMatchLen = false
        var minMatchLen = 0
        var j = 3
        while j < ctx.argc {
            let opt = ctx.option(j)
            if opt == "IDX" {
                getIdx = true
            } else if opt == "LEN" {
                getLen = true
            } else if opt == "WITHMATCHLEN" {
                withMatchLen = true
            } else if opt == "MINMATCHLEN" && j + 1 < ctx.argc {
                guard let v = ctx.integerArgument(j + 1) else { return }
                minMatchLen = v < 0 ? 0 : Int(clamping: v)
                j += 1
            } else {
                return ctx.syntaxError()
            }
            j += 1
        }
        if getIdx && getLen { return ctx.error("ERR If you want both the length and indexes, please just use IDX.") }

        let a = values[0].bytes, b = values[1].bytes
        let alen = a.count, blen = b.count
        let width = blen + 1
        // The table is transient memory: refuse one larger than proto-max-bulk-len (Redis's message)
        // rather than trying to allocate it.
        let (cells, o1) = (alen + 1).multipliedReportingOverflow(by: width)
        let (bytes, o2) = cells.multipliedReportingOverflow(by: MemoryLayout<UInt32>.size)
        if o1 || o2 || bytes > ctx.config.protoMaxBulkLen {
            return ctx.error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
        }
        var dp = [UInt32](repeating: 0, count: (alen + 1) * width)
        if alen > 0 && blen > 0 {
            for i in 1 ... alen {
                for k in 1 ... blen {
                    if a[i - 1] == b[k - 1] {
                        dp[i * width + k] = dp[(i - 1) * width + k - 1] + 1
                    } else {
                        dp[i * width + k] = max(dp[(i - 1) * width + k], dp[i * width + k - 1])
                    }
                }
            }
        }
        let total = Int(dp[alen * width + blen])
        if getLen && !getIdx { return ctx.integer(total) }

        var result = [UInt8](repeating: 0, count: total)
        var ranges: [(aStart: Int, aEnd: Int, bStart: Int, bEnd: Int)] = []
        var idx = total
        var i = alen, k = blen
        var aStart = alen, aEnd = 0, bStart = 0, bEnd = 0 // aStart == alen: no range open
        while i > 0 && k > 0 {
            var emit = false
            if a[i - 1] == b[k - 1] {
                result[idx - 1] = a[i - 1]
                if aStart == alen {
                    aStart = i - 1; aEnd = i - 1
                    bStart = k - 1; bEnd = k - 1
                } else if aStart == i && bStart == k {
                    aStart -= 1
                    bStart -= 1
                } else {
                    emit = true
                }
                if aStart == 0 || bStart == 0 { emit = true }
                idx -= 1; i -= 1; k -= 1
            } else {
                if dp[(i - 1) * width + k] > dp[i * width + k - 1] { i -= 1 } else { k -= 1 }
                if aStart != alen { emit = true }
            }
            if emit {
                if minMatchLen == 0 || aEnd - aStart + 1 >= minMatchLen {
                    ranges.append((aStart, aEnd, bStart, bEnd))
                }
                aStart = alen
            }
        }
        guard getIdx else { return ctx.bulk(result) }
        ctx.mapHeader(2)
        ctx.bulk("matches")
        ctx.arrayHeader(ranges.count)
        for r in ranges {
            ctx.arrayHeader(withMatchLen ? 3 : 2)
            ctx.arrayHeader(2)
            ctx.integer(r.aStart)
            ctx.integer(r.aEnd)
            ctx.arrayHeader(2)
            ctx.integer(r.bStart)
            ctx.integer(r.bEnd)
            if withMatchLen { ctx.integer(r.aEnd - r.aStart + 1) }
        }
        ctx.bulk("len")
        ctx.integer(total)
    }
}
