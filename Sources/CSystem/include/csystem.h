// Thin C wrappers over Linux calls Swift's Glibc module does not import (epoll, signalfd, accept4).
#ifndef CAIRN_CSYSTEM_H
#define CAIRN_CSYSTEM_H
#include <stdint.h>
#include <sys/socket.h>

#define CAIRN_EV_READ 1u
#define CAIRN_EV_WRITE 2u
#define CAIRN_EV_HANGUP 4u

int cairn_epoll_create(void);
/// op: 1 add, 2 modify, 3 delete. events: CAIRN_EV_READ | CAIRN_EV_WRITE.
int cairn_epoll_ctl(int epfd, int op, int fd, uint32_t events);
/// Waits; fills fds[i] and events[i] (CAIRN_EV_*) for up to max ready descriptors.
int cairn_epoll_wait(int epfd, int *fds, uint32_t *events, int max, int timeout_ms);
/// A non-blocking, close-on-exec signalfd for SIGTERM and SIGINT (which it blocks).
int cairn_termination_signalfd(void);
/// Reads one signal from a signalfd; returns its number, or -1.
int cairn_read_signal(int fd);
/// Asks the CPU to bring the cache line at `p` in ahead of a read (never faults, even for a bad address).
static inline void cairn_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
int cairn_accept(int fd, struct sockaddr *addr, socklen_t *len);
/// Starts writeback of a file's byte range without waiting (sync_file_range SYNC_FILE_RANGE_WRITE).
int cairn_start_writeback(int fd, long long offset, long long count);

/// Bytes the program holds from the allocator: the running count of malloc_count.c (usable bytes of
/// every live block), or, when that is not in force, glibc's mallinfo2 (in-use arena bytes plus
/// mmapped blocks; slow on a fragmented heap), or the sanitizer runtime's figure when one is linked in.
size_t cairn_malloc_used(void);
/// Whether malloc_count.c's counting allocator entry points are the ones in use (1) or not (0).
int cairn_malloc_counting(void);
/// The running count itself (usable bytes allocated minus freed; can dip below zero by the few blocks
/// the loader handed out before the count began).
long long cairn_malloc_counted(void);

/// Keeps big blocks (up to 4 MB) in glibc's heap instead of mmap, and lets the heap keep up to 32 MB of
/// free space at its top instead of trimming it at once. Otherwise a reply buffer that grows to a few
/// hundred KB for a pipeline of big values and is freed once written comes back as fresh zeroed pages
/// (page faults) on every batch; jemalloc, Redis's allocator, likewise keeps freed pages for reuse.
void cairn_tune_allocator(void);

/// Installs the crash report: on SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP or SIGABRT the process writes
/// a report with a stack trace to the log descriptor (async-signal-safe writes only), then dies of the
/// same signal (or exits with status 1 when `exit_on_panic`). `title` names the program and version.
void cairn_install_crash_report(int log_fd, const char *title, int exit_on_panic);
/// The log descriptor changed (CONFIG SET logfile).
void cairn_set_crash_log_fd(int log_fd);

/// The watchdog (watchdog-period): arms a one-shot timer of `period_ms`; if it fires before the next
/// call (the main thread is stuck), SIGALRM's handler logs "--- WATCHDOG TIMER EXPIRED ---" and a
/// stack trace to the crash log descriptor. 0 disarms it.
void cairn_watchdog_schedule(int period_ms);

/// The program name as started (argv[0]), captured before anything rewrote it; "" when unknown.
const char *cairn_original_argv0(void);
/// Replaces the process title (what ps and /proc/PID/cmdline show) by `title`, truncated to the
/// room the start-up arguments and environment strings occupied (the environment is moved first).
void cairn_set_proc_title(const char *title);
#endif
