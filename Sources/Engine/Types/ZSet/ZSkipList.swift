// ZSkipList: Redis's skiplist with spans, the ordered half of a "skiplist"-encoded zset. Elements
// are ordered by score, then by member bytes (memcmp order); every link stores how many elements
// it skips, so rank and element-at-rank are O(log n) like insert and delete.
// Nodes live in parallel arrays indexed by Int32 (no object, no reference count per node); node 0
// is the header, with the maximum height. A node's links are `height` consecutive entries of
// `links` starting at `base[node]`. Freed nodes go on a free list per height and are reused.
// Each link also holds the score of the node it points to, so a search compares scores without
// touching the node it may not step to (one cache miss per step instead of three on a big set).

struct ZSkipList {
    static let maxLevel = 32
    static let nil32: Int32 = -1

    struct Link {
        var next: Int32
        var span: Int32
        /// score[next] (meaningless when next is nil32).
        var nextScore: Double = 0
        /// base[next]: where the next node's links start, so a step along a level reads one link
        /// instead of base[] and then the link (meaningless when next is nil32).
        var nextBase: Int32 = 0
    }

    var member: [ByteString] = []
    var score: [Double] = []
    var backward: [Int32] = []
    var base: [Int32] = []
    var height: [UInt8] = []
    var links: [Link] = []
    /// Head of the free list of nodes of each height (linked through their level-0 link).
    var freeHead = [Int32](repeating: -1, count: maxLevel + 1)
    /// Scratch for insert/delete (the update and rank vectors), kept to avoid allocating.
    var update = [Int32](repeating: 0, count: maxLevel)
    var rankScratch = [Int](repeating: 0, count: maxLevel)

    /// Levels in use.
    var level = 1
    var length = 0
    var tail: Int32 = -1

    init() {
        // The header: node 0, full height, no member.
        member.append(ByteString())
        score.append(0)
        backward.append(ZSkipList.nil32)
        base.append(0)
        height.append(UInt8(ZSkipList.maxLevel))
        links = [Link](repeating: Link(next: ZSkipList.nil32, span: 0), count: ZSkipList.maxLevel)
    }

    @inline(__always) func next(_ x: Int32, _ i: Int) -> Int32 { links[Int(base[Int(x)]) + i].next }
    @inline(__always) func span(_ x: Int32, _ i: Int) -> Int { Int(links[Int(base[Int(x)]) + i].span) }

    /// The first element (lowest), or nil32.
    var first: Int32 { next(0, 0) }

    /// True when the node link `l` points to sorts before (s, m) (`l.next` must not be nil32).
    @inline(__always)
    func linkPrecedes(_ l: Link, _ s: Double, _ m: ByteString) -> Bool {
        l.nextScore < s || (l.nextScore == s && member[Int(l.next)] < m)
    }

    /// True when element `x` sorts before (s, m).
    @inline(__always)
    func precedes(_ x: Int32, _ s: Double, _ m: ByteString) -> Bool {
        let xs = score[Int(x)]
        return xs < s || (xs == s && member[Int(x)] < m)
    }

    /// A node height: each level above the first with probability 1/4, as Redis draws them.
    static func randomLevel() -> Int {
        var level = 1
        var g = EngineRandom()
        while level < maxLevel && g.next() >> 48 < 0x3FFF { level += 1 }
        return level
    }

    mutating func allocate(height h: Int, score s: Double, member m: ByteString) -> Int32 {
        let f = freeHead[h]
        if f != ZSkipList.nil32 {
            let fi = Int(f)
            freeHead[h] = links[Int(base[fi])].next
            member[fi] = m
            score[fi] = s
            backward[fi] = ZSkipList.nil32
            for i in 0 ..< h { links[Int(base[fi]) + i] = Link(next: ZSkipList.nil32, span: 0) }
            return f
        }
        let x = Int32(member.count)
        member.append(m)
        score.append(s)
        backward.append(ZSkipList.nil32)
        base.append(Int32(links.count))
        height.append(UInt8(h))
        for _ in 0 ..< h { links.append(Link(next: ZSkipList.nil32, span: 0)) }
        return x
    }

    mutating func release(_ x: Int32) {
        let xi = Int(x)
        let h = Int(height[xi])
        member[xi] = ByteString()
        links[Int(base[xi])].next = freeHead[h]
        freeHead[h] = x
    }

    /// Inserts (s, m); the member must not be present.
    mutating func insert(_ s: Double, _ m: ByteString) {
        var x: Int32 = 0
        var xb = 0
        for i in stride(from: level - 1, through: 0, by: -1) {
            rankScratch[i] = i == level - 1 ? 0 : rankScratch[i + 1]
            while true {
                let l = links[xb + i]
                if l.next != ZSkipList.nil32 && linkPrecedes(l, s, m) {
                    rankScratch[i] += Int(l.span)
                    x = l.next
                    xb = Int(l.nextBase)
                } else { break }
            }
            update[i] = x
        }
        let h = ZSkipList.randomLevel()
        if h > level {
            for i in level ..< h {
                rankScratch[i] = 0
                update[i] = 0
                links[i].span = Int32(length)
            }
            level = h
        }
        let n = allocate(height: h, score: s, member: m)
        let nb = Int(base[Int(n)])
        for i in 0 ..< h {
            let ub = Int(base[Int(update[i])]) + i
            links[nb + i].next = links[ub].next
            links[nb + i].nextScore = links[ub].nextScore
            links[nb + i].nextBase = links[ub].nextBase
            links[ub].next = n
            links[ub].nextScore = s
            links[ub].nextBase = Int32(nb)
            let skipped = rankScratch[0] - rankScratch[i]
            links[nb + i].span = links[ub].span - Int32(skipped)
            links[ub].span = Int32(skipped + 1)
        }
        if h < level {
            for i in h ..< level { links[Int(base[Int(update[i])]) + i].span += 1 }
        }
        backward[Int(n)] = update[0] == 0 ? ZSkipList.nil32 : update[0]
        let after = links[nb].next
        if after != ZSkipList.nil32 { backward[Int(after)] = n } else { tail = n }
        length += 1
    }

    /// Deletes (s, m); returns whether it was there.
    @discardableResult
    mutating func delete(_ s: Double, _ m: ByteString) -> Bool {
        var x: Int32 = 0
        var xb = 0
        for i in stride(from: level - 1, through: 0, by: -1) {
            while true {
                let l = links[xb + i]
                if l.next != ZSkipList.nil32 && linkPrecedes(l, s, m) {
                    x = l.next
                    xb = Int(l.nextBase)
                } else { break }
            }
            update[i] = x
        }
        x = next(x, 0)
        guard x != ZSkipList.nil32, score[Int(x)] == s, member[Int(x)] == m else { return false }
        unlink(x)
        release(x)
        return true
    }

    /// Removes node `x` from every level, given `update` filled by a search for it.
    private mutating func unlink(_ x: Int32) {
        let xb = Int(base[Int(x)])
        for i in 0 ..< level {
            let ub = Int(base[Int(update[i])]) + i
            if links[ub].next == x {
                links[ub].span += links[xb + i].span - 1
                links[ub].next = links[xb + i].next
                links[ub].nextScore = links[xb + i].nextScore
                links[ub].nextBase = links[xb + i].nextBase
            } else {
                links[ub].span -= 1
            }
        }
        let after = links[xb].next
        if after != ZSkipList.nil32 { backward[Int(after)] = backward[Int(x)] } else { tail = backward[Int(x)] }
        while level > 1 && links[level - 1].next == ZSkipList.nil32 { level -= 1 }
        length -= 1
    }

    /// 0-based rank of (s, m), or nil when absent.
    func rank(_ s: Double, _ m: ByteString) -> Int? {
        var x: Int32 = 0
        var r = 0
        for i in stride(from: level - 1, through: 0, by: -1) {
            while true {
                let f = next(x, i)
                if f != ZSkipList.nil32 {
                    let fs = score[Int(f)]
                    if fs < s || (fs == s && member[Int(f)] <= m) {
                        r += span(x, i)
                        x = f
                        continue
                    }
                }
                break
            }
            if x != 0 && score[Int(x)] == s && member[Int(x)] == m { return r - 1 }
        }
        return nil
    }

    /// The node at 0-based rank `r` (which must be < length).
    func node(atRank r: Int) -> Int32 {
        var x: Int32 = 0
        var traversed = 0
        let target = r + 1
        for i in stride(from: level - 1, through: 0, by: -1) {
            while true {
                let f = next(x, i)
                if f != ZSkipList.nil32 && traversed + span(x, i) <= target {
                    traversed += span(x, i)
                    x = f
                } else { break }
            }
            if traversed == target { return x }
        }
        return ZSkipList.nil32
    }

    /// How many leading elements satisfy `pred` (which must hold for a prefix of the order).
    func countPrefix(_ pred: (Double, ByteString) -> Bool) -> Int {
        var x: Int32 = 0
        var r = 0
        for i in stride(from: level - 1, through: 0, by: -1) {
            while true {
                let f = next(x, i)
                if f != ZSkipList.nil32 && pred(score[Int(f)], member[Int(f)]) {
                    r += span(x, i)
                    x = f
                } else { break }
            }
        }
        return r
    }

    /// The level-0 link that leads past the leading elements whose score satisfies `pred` (which must
    /// hold for a prefix of the order): its `next` is the first element that does not (nil32: none),
    /// with that element's score beside it.
    func linkPastScorePrefix(_ pred: (Double) -> Bool) -> Link {
        var xb = 0
        for i in stride(from: level - 1, through: 0, by: -1) {
            while true {
                let l = links[xb + i]
                if l.next != ZSkipList.nil32 && pred(l.nextScore) { xb = Int(l.nextBase) } else { break }
            }
        }
        return links[xb]
    }

    /// Like `countPrefix`, looking at scores only (no member copies).
    func countScorePrefix(_ pred: (Double) -> Bool) -> Int {
        var xb = 0
        var r = 0
        for i in stride(from: level - 1, through: 0, by: -1) {
            while true {
                let l = links[xb + i]
                if l.next != ZSkipList.nil32 && pred(l.nextScore) {
                    r += Int(l.span)
                    xb = Int(l.nextBase)
                } else { break }
            }
        }
        return r
    }
}
