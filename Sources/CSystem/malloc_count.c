// malloc_count: a running count of the bytes the process holds from the allocator, so that
// used_memory (INFO, maxmemory eviction, maxmemory-clients) is one atomic read, as Redis's zmalloc
// counter is, instead of glibc's mallinfo2, which walks every free chunk of every arena (tens of
// milliseconds on a heap that evictions have fragmented).
//
// How: the executable defines the malloc family. glibc supports replacing them (its own internal
// calls go through the same symbols); each entry point here hands the request to glibc's real
// allocator (__libc_malloc and friends) and adds or subtracts malloc_usable_size of the block. The
// blocks stay glibc's, so anything that calls glibc directly still works. Left out when a sanitizer
// owns malloc.
#define _GNU_SOURCE
#include "csystem.h"
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#if defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#    define CAIRN_NO_MALLOC_COUNT 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define CAIRN_NO_MALLOC_COUNT 1
#endif

// The count is kept per thread, in its own cache line, so a malloc or free costs a plain add to a
// thread-local slot rather than an atomic operation on a shared one (that was 4-5% of pipelined
// throughput); reading it sums the slots. Threads past the last slot share it (with a small risk of
// a lost update there; Cairn runs a handful of threads).
#define CAIRN_COUNT_SLOTS 512
struct count_slot { long long bytes; char pad[56]; };
static struct count_slot slots[CAIRN_COUNT_SLOTS];
static int slots_taken = 0;
static __thread struct count_slot *my_slot = NULL;
static int counting = 0;

static inline struct count_slot *thread_slot(void) {
    struct count_slot *s = my_slot;
    if (__builtin_expect(s == NULL, 0)) {
        int i = __atomic_fetch_add(&slots_taken, 1, __ATOMIC_RELAXED);
        s = &slots[i < CAIRN_COUNT_SLOTS ? i : CAIRN_COUNT_SLOTS - 1];
        my_slot = s;
    }
    return s;
}

int cairn_malloc_counting(void) { return __atomic_load_n(&counting, __ATOMIC_RELAXED); }

long long cairn_malloc_counted(void) {
    int n = __atomic_load_n(&slots_taken, __ATOMIC_RELAXED);
    if (n > CAIRN_COUNT_SLOTS) n = CAIRN_COUNT_SLOTS;
    long long total = 0;
    for (int i = 0; i < n; i++) total += __atomic_load_n(&slots[i].bytes, __ATOMIC_RELAXED);
    return total;
}

#ifndef CAIRN_NO_MALLOC_COUNT
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static inline void *note_alloc(void *p) {
    if (p) {
        thread_slot()->bytes += (long long)malloc_usable_size(p);
        if (__builtin_expect(!counting, 0)) __atomic_store_n(&counting, 1, __ATOMIC_RELAXED);
    }
    return p;
}

static inline void note_free(void *p) {
    if (p) thread_slot()->bytes -= (long long)malloc_usable_size(p);
}

void *malloc(size_t n) { return note_alloc(__libc_malloc(n)); }

void free(void *p) {
    note_free(p);
    __libc_free(p);
}

void *calloc(size_t n, size_t size) { return note_alloc(__libc_calloc(n, size)); }

void *realloc(void *p, size_t n) {
    if (!p) return note_alloc(__libc_realloc(NULL, n));
    size_t before = malloc_usable_size(p);
    void *q = __libc_realloc(p, n);
    if (q) {
        thread_slot()->bytes += (long long)malloc_usable_size(q) - (long long)before;
    } else if (n == 0) {
        thread_slot()->bytes -= (long long)before;  // realloc(p, 0) freed p
    }
    return q;
}

void *memalign(size_t alignment, size_t n) { return note_alloc(__libc_memalign(alignment, n)); }

void *aligned_alloc(size_t alignment, size_t n) { return note_alloc(__libc_memalign(alignment, n)); }

int posix_memalign(void **out, size_t alignment, size_t n) {
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *p = __libc_memalign(alignment, n);
    if (!p) return ENOMEM;
    *out = note_alloc(p);
    return 0;
}

void *valloc(size_t n) { return note_alloc(__libc_memalign((size_t)sysconf(_SC_PAGESIZE), n)); }

void *pvalloc(size_t n) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return note_alloc(__libc_memalign(page, (n + page - 1) & ~(page - 1)));
}
#endif
