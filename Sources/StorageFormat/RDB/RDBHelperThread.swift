// RDBHelperThread: a second thread for RDBDecoder — the CRC64 of the file's bytes, and the sorting and
// spilling of the duplicate-key log (RDBFingerprintLog), run there while the scanner parses.
// When RDBInput's window is used up it does not slide the window in place: it hands the whole buffer
// (with the range of bytes just consumed) to the worker and continues in a fresh buffer from the
// worker's pool, copying over only the few bytes still unread. The worker folds the handed ranges into
// the running checksum in order and returns each buffer to the pool. So the checksum costs the parsing
// thread no copy and no computation. Only the offline tools use it (RDBDecoder); the server's reader
// checksums inline on its loading thread (DESIGN.md: no helper threads around fork()). Jobs run in the
// order they were queued.
#if canImport(Glibc)
import Glibc
#endif

final class RDBHelperThread: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var thread = pthread_t()
    private var started = false
    /// Buffers waiting for the worker (with the range to checksum), in file order.
    private var queue: [(UnsafeMutableRawBufferPointer, Range<Int>, owned: Bool)] = []
    /// Other work (closures), interleaved with the checksum pieces by a sequence number.
    private var tasks: [(seq: Int, job: () -> Void)] = []
    private var queued = 0          // sequence numbers handed out
    private var pieceSeq: [Int] = []
    /// Bytes checksummed so far.
    private var completed = 0
    /// Buffers free for the input to use.
    private var free: [UnsafeMutableRawBufferPointer] = []
    /// Buffers in existence (free, queued, being checksummed, or in the input's hands).
    private var buffers = 0
    private var busy = false
    private var stopping = false
    private var crc: UInt64 = 0

    /// Most buffers in existence before the input waits for one to come back.
    static let poolLimit = 4

    init() {
        mutex.initialize(to: pthread_mutex_t())
        cond.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
        let context = Unmanaged.passRetained(self).toOpaque()
        if pthread_create(&thread, nil, { raw in
            let worker = Unmanaged<RDBHelperThread>.fromOpaque(raw!).takeRetainedValue()
            worker.loop()
            return nil
        }, context) == 0 {
            started = true
        } else {
            Unmanaged<RDBHelperThread>.fromOpaque(context).release()
        }
    }

    /// Waits for the queue, stops the thread and frees the pooled buffers.
    func close() {
        if started {
            pthread_mutex_lock(mutex)
            stopping = true
            pthread_cond_broadcast(cond)
            pthread_mutex_unlock(mutex)
            pthread_join(thread, nil)
            started = false
        }
        for b in free { b.deallocate() }
        for (b, _, owned) in queue where owned { b.deallocate() }
        free.removeAll()
        queue.removeAll()
    }

    private func loop() {
        pthread_mutex_lock(mutex)
        while true {
            while queue.isEmpty && tasks.isEmpty && !stopping { pthread_cond_wait(cond, mutex) }
            if queue.isEmpty && tasks.isEmpty && stopping { break }
            if let t = tasks.first, pieceSeq.first.map({ t.seq < $0 }) ?? true {
                tasks.removeFirst()
                busy = true
                pthread_mutex_unlock(mutex)
                t.job()
                pthread_mutex_lock(mutex)
                busy = false
                pthread_cond_broadcast(cond)
                continue
            }
            pieceSeq.removeFirst()
            let (buffer, range, owned) = queue.removeFirst()
            busy = true
            let c = crc
            pthread_mutex_unlock(mutex)
            let updated = CRC64.updateWide(c, UnsafeRawBufferPointer(rebasing: buffer[range]))
            pthread_mutex_lock(mutex)
            crc = updated
            completed += range.count
            busy = false
            if owned { free.append(buffer) }
            pthread_cond_broadcast(cond)
        }
        pthread_mutex_unlock(mutex)
    }

    /// Takes ownership of `buffer`; `range` of it is the next consumed piece of the file.
    func submit(_ buffer: UnsafeMutableRawBufferPointer, _ range: Range<Int>) {
        guard started else {
            crc = CRC64.update(crc, UnsafeRawBufferPointer(rebasing: buffer[range]))
            free.append(buffer)
            return
        }
        pthread_mutex_lock(mutex)
        queue.append((buffer, range, true))
        pieceSeq.append(queued); queued += 1
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    /// Queues `range` of `memory`, which stays valid and is not the worker's (a mapped file).
    func submit(view memory: UnsafeMutableRawBufferPointer, _ range: Range<Int>) {
        guard started else {
            crc = CRC64.update(crc, UnsafeRawBufferPointer(rebasing: memory[range]))
            completed += range.count
            return
        }
        pthread_mutex_lock(mutex)
        queue.append((memory, range, false))
        pieceSeq.append(queued); queued += 1
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until at least `bytes` bytes have been checksummed (or nothing is left queued).
    func wait(forChecksummed bytes: Int) {
        guard started else { return }
        pthread_mutex_lock(mutex)
        while completed < bytes && !(queue.isEmpty && !busy) { pthread_cond_wait(cond, mutex) }
        pthread_mutex_unlock(mutex)
    }

    /// Bytes checksummed so far.
    var done: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return completed
    }

    /// A buffer of at least `capacity` bytes for the input (from the pool, or new while the pool is small).
    func take(capacity: Int) -> UnsafeMutableRawBufferPointer {
        pthread_mutex_lock(mutex)
        while free.isEmpty && buffers >= RDBHelperThread.poolLimit && started { pthread_cond_wait(cond, mutex) }
        var b: UnsafeMutableRawBufferPointer? = nil
        // The smallest free buffer that fits; free buffers far larger than needed (left from one big
        // blob) are given back to the system.
        var best = -1
        for (i, f) in free.enumerated() where f.count >= capacity && (best < 0 || f.count < free[best].count) { best = i }
        if best >= 0 && free[best].count > max(capacity * 8, 16 << 20) {
            free.remove(at: best).deallocate()
            buffers -= 1
            best = -1
        }
        if best >= 0 {
            b = free.remove(at: best)
        } else if !free.isEmpty {
            free.removeLast().deallocate()
            buffers -= 1
        }
        if b == nil { buffers += 1 }
        pthread_mutex_unlock(mutex)
        return b ?? UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
    }

    /// Counts a buffer the input allocated itself (its first one) as part of the pool.
    func adopt() {
        pthread_mutex_lock(mutex)
        buffers += 1
        pthread_mutex_unlock(mutex)
    }

    /// Runs `job` on the thread after everything queued before it.
    func run(_ job: @escaping () -> Void) {
        guard started else { job(); return }
        pthread_mutex_lock(mutex)
        tasks.append((queued, job))
        queued += 1
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until every queued piece and job is done.
    func waitIdle() {
        guard started else { return }
        pthread_mutex_lock(mutex)
        while !queue.isEmpty || !tasks.isEmpty || busy { pthread_cond_wait(cond, mutex) }
        pthread_mutex_unlock(mutex)
    }

    /// Waits for every queued piece; the checksum of everything submitted.
    func value() -> UInt64 {
        pthread_mutex_lock(mutex)
        while !queue.isEmpty || !tasks.isEmpty || busy { pthread_cond_wait(cond, mutex) }
        let c = crc
        pthread_mutex_unlock(mutex)
        return c
    }

    deinit {
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(cond)
        mutex.deallocate()
        cond.deallocate()
    }
}
