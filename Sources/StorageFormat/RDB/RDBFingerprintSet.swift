// RDBFingerprintSet: finds a repeated 64-bit fingerprint among many, in bounded memory.
//
// Fingerprints (each with a caller's tag, e.g. the byte offset of the element) go into an open-addressing
// table in memory, where a repeat is found at once. When the table reaches its memory budget, its entries
// are sorted and written as a run to an anonymous temporary file and the table starts empty; `finish()`
// then merges the sorted runs (and the table) and reports a fingerprint that occurs twice. So a
// 5-million-field hash or a 50-million-key file is checked exactly (up to 64-bit fingerprint collisions,
// probability about n²/2⁶⁵) with at most `budgetBytes` of memory plus 16 bytes per entry on disk.
#if canImport(Glibc)
import Glibc
#endif

/// A repeat found by `RDBFingerprintSet`: the fingerprint and the tags of two of its occurrences.
public struct RDBFingerprintRepeat: Sendable, Equatable {
    public var fingerprint: UInt64
    public var firstTag: Int64
    public var secondTag: Int64
}

final class RDBFingerprintSet {
    struct Slot {
        var fp: UInt64
        var tag: Int64
    }

    /// Slots allocated (a power of two); `active` of them in use by the current table size.
    var slots: UnsafeMutablePointer<Slot>
    var allocated: Int
    var active: Int
    var mask: Int
    var count = 0
    /// Most slots the table may have (from the budget).
    let maxSlots: Int
    /// Spilled sorted runs in the temporary file: (first slot index, slot count).
    var runs: [(start: Int, count: Int)] = []
    var spillFD: Int32 = -1
    var spillSlots = 0
    /// Entries inserted since the last reset (in memory and spilled).
    private(set) var total = 0

    /// `budgetBytes`: the table's memory before it spills (16 bytes per slot, at most 3/4 full).
    init(budgetBytes: Int) {
        var m = 1024
        while m * 2 * MemoryLayout<Slot>.stride <= budgetBytes { m *= 2 }
        maxSlots = m
        allocated = 64
        active = 64
        mask = 63
        slots = UnsafeMutablePointer<Slot>.allocate(capacity: 64)
        slots.initialize(repeating: Slot(fp: 0, tag: 0), count: 64)
    }

    deinit {
        slots.deallocate()
        if spillFD >= 0 { close(spillFD) }
    }

    /// Empties the set, sized for about `expected` entries (0 = unknown, start small).
    func reset(expected: Int) {
        var want = 16
        let target = min(max(expected, 0), maxSlots) * 2
        while want < target && want < maxSlots { want *= 2 }
        if want > allocated || (allocated > 1 << 16 && want * 8 < allocated) {
            slots.deallocate()
            slots = UnsafeMutablePointer<Slot>.allocate(capacity: want)
            allocated = want
        }
        active = want
        mask = want - 1
        (UnsafeMutableRawPointer(slots)).initializeMemory(as: UInt8.self, repeating: 0, count: active * MemoryLayout<Slot>.stride)
        count = 0
        total = 0
        if !runs.isEmpty {
            runs.removeAll()
            spillSlots = 0
            if spillFD >= 0 { _ = ftruncate(spillFD, 0) }
        }
    }

    /// Whether entries were written to disk (repeats among them are found by `finish()`).
    var spilled: Bool { !runs.isEmpty }

    /// Adds `fp`; returns the tag of an equal fingerprint already in memory, else nil.
    @inline(__always)
    func insert(_ fingerprint: UInt64, tag: Int64) throws -> Int64? {
        let fp = fingerprint == 0 ? 1 : fingerprint
        if (count + 1) * 4 > active * 3 { try grow() }
        var i = Int(truncatingIfNeeded: fp) & mask
        while true {
            let s = slots[i].fp
            if s == 0 {
                slots[i] = Slot(fp: fp, tag: tag)
                count += 1
                total += 1
                return nil
            }
            if s == fp { return slots[i].tag }
            i = (i + 1) & mask
        }
    }

    @inline(never)
    func grow() throws {
        if active < maxSlots {
            let newSize = active * 2
            let fresh = UnsafeMutablePointer<Slot>.allocate(capacity: newSize)
            (UnsafeMutableRawPointer(fresh)).initializeMemory(as: UInt8.self, repeating: 0, count: newSize * MemoryLayout<Slot>.stride)
            let newMask = newSize - 1
            for j in 0 ..< active where slots[j].fp != 0 {
                var i = Int(truncatingIfNeeded: slots[j].fp) & newMask
                while fresh[i].fp != 0 { i = (i + 1) & newMask }
                fresh[i] = slots[j]
            }
            slots.deallocate()
            slots = fresh
            allocated = newSize
            active = newSize
            mask = newMask
            return
        }
        try spill()
    }

    /// Compacts the live entries to the front of the table and sorts them by fingerprint.
    func sortedLive() -> UnsafeMutableBufferPointer<Slot> {
        var n = 0
        for j in 0 ..< active where slots[j].fp != 0 {
            slots[n] = slots[j]
            n += 1
        }
        let live = UnsafeMutableBufferPointer(start: slots, count: n)
        RDBFingerprintSet.radixSort(live)
        return live
    }

    /// Sorts `a` by fingerprint: one counting pass on the top bits scatters the entries into buckets of
    /// about 8 (fingerprints are uniform), then each bucket is insertion-sorted. O(n) expected.
    static func radixSort(_ a: UnsafeMutableBufferPointer<Slot>) {
        let n = a.count
        guard n > 1, let base = a.baseAddress else { return }
        if n < 256 {
            var small = a
            small.sort { $0.fp < $1.fp }
            return
        }
        var bits = 8
        while bits < 20 && (1 << (bits + 3)) < n { bits += 1 }
        let shift = UInt64(64 - bits)
        let buckets = 1 << bits
        let scratch = UnsafeMutablePointer<Slot>.allocate(capacity: n)
        defer { scratch.deallocate() }
        let starts = UnsafeMutablePointer<Int>.allocate(capacity: buckets + 1)
        defer { starts.deallocate() }
        starts.initialize(repeating: 0, count: buckets + 1)
        for i in 0 ..< n { starts[Int(base[i].fp >> shift) + 1] += 1 }
        for b in 0 ..< buckets { starts[b + 1] += starts[b] }
        let next = UnsafeMutablePointer<Int>.allocate(capacity: buckets)
        defer { next.deallocate() }
        next.update(from: starts, count: buckets)
        for i in 0 ..< n {
            let s = base[i]
            let b = Int(s.fp >> shift)
            scratch[next[b]] = s
            next[b] += 1
        }
        for b in 0 ..< buckets {
            let lo = starts[b], hi = starts[b + 1]
            if hi - lo < 2 { continue }
            var i = lo + 1
            while i < hi {
                let x = scratch[i]
                var j = i - 1
                while j >= lo && scratch[j].fp > x.fp {
                    scratch[j + 1] = scratch[j]
                    j -= 1
                }
                scratch[j + 1] = x
                i += 1
            }
        }
        base.update(from: scratch, count: n)
    }

    /// Writes the table as a sorted run to the temporary file and empties it.
    func spill() throws {
        try writeRun(sortedLive())
        (UnsafeMutableRawPointer(slots)).initializeMemory(as: UInt8.self, repeating: 0, count: active * MemoryLayout<Slot>.stride)
        count = 0
    }

    /// Appends a sorted run to the temporary file.
    func writeRun(_ live: UnsafeMutableBufferPointer<Slot>) throws {
        if spillFD < 0 { spillFD = try RDBFingerprintSet.anonymousTempFile() }
        let bytes = live.count * MemoryLayout<Slot>.stride
        var done = 0
        while done < bytes {
            let n = pwrite(spillFD, UnsafeRawPointer(live.baseAddress!) + done, bytes - done,
                           off_t(spillSlots * MemoryLayout<Slot>.stride + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw IOError(path: "(temporary file for the duplicate check)", errno: errno)
            }
            done += n
        }
        runs.append((spillSlots, live.count))
        spillSlots += live.count
    }

    static func anonymousTempFile() throws -> Int32 {
        var dir = "/tmp"
        if let t = getenv("TMPDIR"), t.pointee != 0 { dir = String(cString: t) }
        var template = Array((dir + "/cairn-fingerprints-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 { throw IOError(path: dir, errno: errno) }
        _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        return fd
    }

    /// After all inserts: a fingerprint that occurs twice across the spilled runs and the table, or nil.
    /// (Repeats within the in-memory table were already reported by `insert`.) Leaves the set to be reset.
    func finish() throws -> RDBFingerprintRepeat? {
        guard !runs.isEmpty else { return nil }
        let memory = sortedLive()
        count = 0 // the table is no longer a hash table; reset() before reuse
        return try merge(memory: memory)
    }

    /// Merges the spilled runs with a sorted in-memory run; returns a fingerprint found twice.
    func merge(memory: UnsafeMutableBufferPointer<Slot>) throws -> RDBFingerprintRepeat? {
        // One cursor per run (buffered reads from the file) plus the in-memory run.
        final class Cursor {
            var buffer: UnsafeMutablePointer<Slot>
            var capacity: Int
            var filled = 0
            var index = 0
            var fileNext: Int
            var fileEnd: Int
            let inMemory: Bool
            init(capacity: Int, start: Int, count: Int) {
                self.capacity = capacity
                buffer = UnsafeMutablePointer<Slot>.allocate(capacity: capacity)
                fileNext = start
                fileEnd = start + count
                inMemory = false
            }
            init(memory: UnsafeMutableBufferPointer<Slot>) {
                buffer = memory.baseAddress ?? UnsafeMutablePointer<Slot>.allocate(capacity: 1)
                capacity = memory.count
                filled = memory.count
                fileNext = 0
                fileEnd = 0
                inMemory = true
            }
            deinit { if !inMemory { buffer.deallocate() } }
        }
        var cursors: [Cursor] = runs.map { Cursor(capacity: 4096, start: $0.start, count: $0.count) }
        if memory.count > 0 { cursors.append(Cursor(memory: memory)) }
        let fd = spillFD
        func refill(_ c: Cursor) throws -> Bool {
            if c.index < c.filled { return true }
            if c.inMemory || c.fileNext >= c.fileEnd { return false }
            let n = min(c.capacity, c.fileEnd - c.fileNext)
            let bytes = n * MemoryLayout<Slot>.stride
            var done = 0
            while done < bytes {
                let r = pread(fd, UnsafeMutableRawPointer(c.buffer) + done, bytes - done,
                              off_t(c.fileNext * MemoryLayout<Slot>.stride + done))
                if r < 0 {
                    if errno == EINTR { continue }
                    throw IOError(path: "(temporary file for the duplicate check)", errno: errno)
                }
                if r == 0 { throw IOError(path: "(temporary file for the duplicate check)", reason: "short read") }
                done += r
            }
            c.fileNext += n
            c.filled = n
            c.index = 0
            return true
        }
        // A binary min-heap of cursor indices keyed by each cursor's current fingerprint.
        var heap: [Int] = []
        for (i, c) in cursors.enumerated() where try refill(c) { heap.append(i) }
        func key(_ i: Int) -> UInt64 { cursors[i].buffer[cursors[i].index].fp }
        func siftDown(_ start: Int) {
            var p = start
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < heap.count && key(heap[l]) < key(heap[m]) { m = l }
                if r < heap.count && key(heap[r]) < key(heap[m]) { m = r }
                if m == p { return }
                heap.swapAt(p, m)
                p = m
            }
        }
        var k = heap.count / 2
        while k > 0 { k -= 1; siftDown(k) }
        var havePrevious = false
        var previous = Slot(fp: 0, tag: 0)
        while let top = heap.first {
            let c = cursors[top]
            let s = c.buffer[c.index]
            if havePrevious && s.fp == previous.fp {
                return RDBFingerprintRepeat(fingerprint: s.fp, firstTag: min(previous.tag, s.tag), secondTag: max(previous.tag, s.tag))
            }
            previous = s
            havePrevious = true
            c.index += 1
            if try refill(c) {
                siftDown(0)
            } else {
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
                if !heap.isEmpty { siftDown(0) }
            }
        }
        return nil
    }
}

/// An append-only variant for long sequences (every key of a file): bare fingerprints are appended to a
/// buffer (no random memory access per entry), sorted when the buffer is full and written as a run, and
/// all runs are merged by `finish()`. Repeats are found only at the end, as the repeated fingerprint
/// (the caller finds the entries that have it with a second look).
final class RDBFingerprintLog: @unchecked Sendable {
    var buffer: UnsafeMutablePointer<UInt64>
    let capacity: Int
    /// With a helper thread, full buffers are sorted and written there while the next one fills.
    var helper: RDBHelperThread? = nil
    var spare: UnsafeMutablePointer<UInt64>? = nil
    var pending = false
    var jobError: Error? = nil
    var count = 0
    var spillFD: Int32 = -1
    var runs: [(start: Int, count: Int)] = []
    var spilled = 0
    /// Entries appended in all.
    private(set) var total = 0

    init(budgetBytes: Int) {
        // A third of the budget for the buffer, a third for a second buffer filling while the first is
        // sorted on the helper thread, a third for the sort's scratch.
        capacity = max(1024, budgetBytes / 3 / 8)
        buffer = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
    }

    deinit {
        helper?.waitIdle()
        buffer.deallocate()
        spare?.deallocate()
        if spillFD >= 0 { close(spillFD) }
    }

    @inline(__always)
    func append(_ fp: UInt64) throws {
        if count == capacity { try spill() }
        buffer[count] = fp
        count += 1
        total += 1
    }

    func spill() throws {
        guard let helper else {
            try writeSortedRun(UnsafeMutableBufferPointer(start: buffer, count: count))
            count = 0
            return
        }
        if pending { helper.waitIdle() }
        if let e = jobError { throw e }
        let full = UnsafeMutableBufferPointer(start: buffer, count: count)
        buffer = spare ?? UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        spare = nil
        count = 0
        pending = true
        helper.run { [self] in
            do { try writeSortedRun(full) } catch { jobError = error }
            spare = full.baseAddress
        }
    }

    /// Sorts `run` and appends it to the temporary file.
    func writeSortedRun(_ run: UnsafeMutableBufferPointer<UInt64>) throws {
        RDBFingerprintLog.sort(run)
        if spillFD < 0 { spillFD = try RDBFingerprintSet.anonymousTempFile() }
        try writeAll(spillFD, UnsafeRawBufferPointer(run), at: spilled * 8)
        runs.append((spilled, run.count))
        spilled += run.count
    }

    /// A fingerprint appended twice, or nil. Empties the log.
    func finish() throws -> UInt64? {
        if pending { helper?.waitIdle(); pending = false }
        if let e = jobError { throw e }
        let run = UnsafeMutableBufferPointer(start: buffer, count: count)
        RDBFingerprintLog.sort(run)
        defer { count = 0; runs.removeAll(); spilled = 0 }
        if runs.isEmpty {
            var i = 1
            while i < run.count {
                if run[i] == run[i - 1] { return run[i] }
                i += 1
            }
            return nil
        }
        // k-way merge of the file's runs and the buffer, with flat cursor arrays and a min-heap.
        let k = runs.count + 1
        let chunk = 8192
        let bufs = UnsafeMutablePointer<UInt64>.allocate(capacity: runs.count * chunk)
        defer { bufs.deallocate() }
        var pos = [Int](repeating: 0, count: k)        // index in the current buffer
        var filled = [Int](repeating: 0, count: k)     // entries in the current buffer
        var next = runs.map { $0.start }               // next file entry to read
        var end = runs.map { $0.start + $0.count }
        next.append(0); end.append(0)
        func base(_ i: Int) -> UnsafeMutablePointer<UInt64> { i == k - 1 ? buffer : bufs + i * chunk }
        filled[k - 1] = run.count
        func refill(_ i: Int) throws -> Bool {
            if pos[i] < filled[i] { return true }
            if i == k - 1 || next[i] >= end[i] { return false }
            let n = min(chunk, end[i] - next[i])
            try readAll(spillFD, UnsafeMutableRawBufferPointer(start: base(i), count: n * 8), at: next[i] * 8)
            next[i] += n
            filled[i] = n
            pos[i] = 0
            return true
        }
        var heap: [Int] = []
        var keys: [UInt64] = []
        for i in 0 ..< k where try refill(i) { heap.append(i); keys.append(base(i)[pos[i]]) }
        func siftDown(_ start: Int) {
            var p = start
            let n = heap.count
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < n && keys[l] < keys[m] { m = l }
                if r < n && keys[r] < keys[m] { m = r }
                if m == p { return }
                heap.swapAt(p, m)
                keys.swapAt(p, m)
                p = m
            }
        }
        var j = heap.count / 2
        while j > 0 { j -= 1; siftDown(j) }
        var have = false
        var previous: UInt64 = 0
        while !heap.isEmpty {
            let i = heap[0]
            let v = keys[0]
            if have && v == previous { return v }
            previous = v
            have = true
            pos[i] += 1
            if try refill(i) {
                keys[0] = base(i)[pos[i]]
            } else {
                heap[0] = heap[heap.count - 1]
                keys[0] = keys[keys.count - 1]
                heap.removeLast()
                keys.removeLast()
            }
            siftDown(0)
        }
        return nil
    }

    /// Sorts fingerprints: one counting pass on the top bits into buckets of about 8, then insertion
    /// sort within each bucket. O(n) expected for uniform values.
    static func sort(_ a: UnsafeMutableBufferPointer<UInt64>) {
        let n = a.count
        guard n > 1, let base = a.baseAddress else { return }
        if n < 256 {
            var small = a
            small.sort()
            return
        }
        var bits = 8
        while bits < 20 && (1 << (bits + 3)) < n { bits += 1 }
        let shift = UInt64(64 - bits)
        let buckets = 1 << bits
        let scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: n)
        defer { scratch.deallocate() }
        let starts = UnsafeMutablePointer<Int>.allocate(capacity: buckets + 1)
        defer { starts.deallocate() }
        starts.initialize(repeating: 0, count: buckets + 1)
        for i in 0 ..< n { starts[Int(base[i] >> shift) + 1] += 1 }
        for b in 0 ..< buckets { starts[b + 1] += starts[b] }
        let cursor = UnsafeMutablePointer<Int>.allocate(capacity: buckets)
        defer { cursor.deallocate() }
        cursor.update(from: starts, count: buckets)
        for i in 0 ..< n {
            let v = base[i]
            let b = Int(v >> shift)
            scratch[cursor[b]] = v
            cursor[b] += 1
        }
        for b in 0 ..< buckets {
            let lo = starts[b], hi = starts[b + 1]
            var i = lo + 1
            while i < hi {
                let x = scratch[i]
                var j = i - 1
                while j >= lo && scratch[j] > x {
                    scratch[j + 1] = scratch[j]
                    j -= 1
                }
                scratch[j + 1] = x
                i += 1
            }
        }
        base.update(from: scratch, count: n)
    }
}

func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
    var done = 0
    while done < bytes.count {
        let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
        if n < 0 {
            if errno == EINTR { continue }
            throw IOError(path: "(temporary file for the duplicate check)", errno: errno)
        }
        done += n
    }
}

func readAll(_ fd: Int32, _ bytes: UnsafeMutableRawBufferPointer, at offset: Int) throws {
    var done = 0
    while done < bytes.count {
        let n = pread(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
        if n < 0 {
            if errno == EINTR { continue }
            throw IOError(path: "(temporary file for the duplicate check)", errno: errno)
        }
        if n == 0 { throw IOError(path: "(temporary file for the duplicate check)", reason: "short read") }
        done += n
    }
}
