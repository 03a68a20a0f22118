#define _GNU_SOURCE
#include "csystem.h"
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <signal.h>
#include <unistd.h>
#include <fcntl.h>

int cairn_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cairn_epoll_ctl(int epfd, int op, int fd, uint32_t events) {
    struct epoll_event ev = {0};
    if (events & CAIRN_EV_READ) ev.events |= EPOLLIN;
    if (events & CAIRN_EV_WRITE) ev.events |= EPOLLOUT;
    ev.data.fd = fd;
    int cop = op == 1 ? EPOLL_CTL_ADD : op == 2 ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
    return epoll_ctl(epfd, cop, fd, &ev);
}

int cairn_epoll_wait(int epfd, int *fds, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event evs[1024];
    if (max > 1024) max = 1024;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        uint32_t e = 0;
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) e |= CAIRN_EV_READ;
        if (evs[i].events & EPOLLOUT) e |= CAIRN_EV_WRITE;
        if (evs[i].events & (EPOLLHUP | EPOLLERR)) e |= CAIRN_EV_HANGUP;
        fds[i] = evs[i].data.fd;
        events[i] = e;
    }
    return n;
}

int cairn_termination_signalfd(void) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

int cairn_read_signal(int fd) {
    struct signalfd_siginfo info;
    if (read(fd, &info, sizeof info) != sizeof info) return -1;
    return (int)info.ssi_signo;
}

int cairn_accept(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

#include <malloc.h>
// Present only when a sanitizer runtime (address, thread) is linked in: it then owns malloc, and
// glibc's own arena figures say nothing about what the program holds.
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

void cairn_tune_allocator(void) {
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
}

size_t cairn_malloc_used(void) {
    if (__sanitizer_get_current_allocated_bytes) return __sanitizer_get_current_allocated_bytes();
    if (cairn_malloc_counting()) {
        long long n = cairn_malloc_counted();
        return n > 0 ? (size_t)n : 0;
    }
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

// ---- Crash report -------------------------------------------------------------------------------
// Everything the handler does must be async-signal-safe: it formats into stack buffers and write()s.
#include <execinfo.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

static volatile int crash_log_fd = 1;
static char crash_title[128];
static int crash_exit_on_panic = 0;

static void crash_write(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(crash_log_fd, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void crash_write_number(long v) {
    char buf[32];
    int i = 31;
    int neg = v < 0;
    unsigned long u = neg ? (unsigned long)(-v) : (unsigned long)v;
    buf[i] = 0;
    do { buf[--i] = (char)('0' + u % 10); u /= 10; } while (u && i > 1);
    if (neg) buf[--i] = '-';
    crash_write(buf + i);
}

static void crash_handler(int sig, siginfo_t *info, void *context) {
    (void)context;
    crash_write("\n\n=== CAIRN BUG REPORT START: Cut & paste starting from here ===\n");
    crash_write_number((long)getpid());
    crash_write(":M # ");
    crash_write(crash_title);
    crash_write(" crashed by signal: ");
    crash_write_number(sig);
    crash_write(", si_code: ");
    crash_write_number(info ? info->si_code : 0);
    crash_write("\n\n------ STACK TRACE ------\n\nBacktrace:\n");
    void *frames[100];
    int n = backtrace(frames, 100);
    backtrace_symbols_fd(frames, n, crash_log_fd);
    crash_write("\n=== CAIRN BUG REPORT END. Make sure to include from START to END. ===\n\n");
    if (crash_exit_on_panic) _exit(1);
    // Die of the same signal, with the default action, so the exit status tells what happened.
    struct sigaction act;
    memset(&act, 0, sizeof(act));
    act.sa_handler = SIG_DFL;
    sigemptyset(&act.sa_mask);
    sigaction(sig, &act, NULL);
    kill(getpid(), sig);
}

/// Installs `handler` for `sig` with `flags` (plus SA_SIGINFO), after a first backtrace() call, which
/// may load libgcc: done here, never inside a handler.
static void install_report_handler(int sig, int flags, void (*handler)(int, siginfo_t *, void *)) {
    void *warm[4];
    (void)backtrace(warm, 4);
    struct sigaction act;
    memset(&act, 0, sizeof(act));
    sigemptyset(&act.sa_mask);
    act.sa_flags = flags | SA_SIGINFO;
    act.sa_sigaction = handler;
    sigaction(sig, &act, NULL);
}

void cairn_install_crash_report(int log_fd, const char *title, int exit_on_panic) {
    crash_log_fd = log_fd;
    crash_exit_on_panic = exit_on_panic;
    strncpy(crash_title, title, sizeof(crash_title) - 1);
    int signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT};
    for (unsigned i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
        install_report_handler(signals[i], SA_NODEFER | SA_RESETHAND, crash_handler);
    }
}

void cairn_set_crash_log_fd(int log_fd) { crash_log_fd = log_fd; }

// ---- Watchdog ------------------------------------------------------------------------------------
#include <sys/time.h>
#include <pthread.h>

static void watchdog_handler(int sig, siginfo_t *info, void *context) {
    (void)sig; (void)context;
    if (info && info->si_pid == 0) {
        crash_write("\n");
        crash_write_number((long)getpid());
        crash_write(":M # \n--- WATCHDOG TIMER EXPIRED ---\n");
        void *frames[100];
        int n = backtrace(frames, 100);
        backtrace_symbols_fd(frames, n, crash_log_fd);
        crash_write("--------\n");
    } else {
        crash_write_number((long)getpid());
        crash_write(":M # Received SIGALRM\n");
    }
}

static int watchdog_installed = 0;

void cairn_watchdog_schedule(int period_ms) {
    struct itimerval it;
    memset(&it, 0, sizeof(it));
    if (period_ms > 0) {
        if (!watchdog_installed) {
            // SA_RESTART: system calls the timer interrupts go on (reads, writes, fsync).
            install_report_handler(SIGALRM, SA_NODEFER | SA_RESTART, watchdog_handler);
            // A parent may have started us with SIGALRM blocked (the mask is inherited).
            sigset_t alarm;
            sigemptyset(&alarm);
            sigaddset(&alarm, SIGALRM);
            pthread_sigmask(SIG_UNBLOCK, &alarm, NULL);
            watchdog_installed = 1;
        }
        it.it_value.tv_sec = period_ms / 1000;
        it.it_value.tv_usec = (period_ms % 1000) * 1000;
    }
    setitimer(ITIMER_REAL, &it, NULL);
}

// ---- Process title -------------------------------------------------------------------------------
// glibc passes (argc, argv, envp) to ELF constructors: keep them. The kernel shows a process's
// argument area as /proc/PID/cmdline; when the area's last byte is not NUL it reads on into the
// environment area that follows. So a longer title can use the environment strings' room once they
// are copied elsewhere (and `environ` points at the copies).
extern char **environ;
static int title_argc;
static char **title_argv;
static char *title_start, *title_end;
static char title_argv0[4096];

__attribute__((constructor)) static void cairn_capture_args(int argc, char **argv, char **envp) {
    (void)envp;
    title_argc = argc;
    title_argv = argv;
    if (argc > 0 && argv && argv[0]) {
        strncpy(title_argv0, argv[0], sizeof(title_argv0) - 1);
    }
}

const char *cairn_original_argv0(void) { return title_argv0; }

static void cairn_prepare_title_area(void) {
    if (title_start || !title_argv || title_argc <= 0 || !title_argv[0]) return;
    char *start = title_argv[0];
    char *end = start;
    for (int i = 0; i < title_argc; i++) {
        if (title_argv[i] == end || i == 0) end = title_argv[i] + strlen(title_argv[i]) + 1;
    }
    size_t envc = 0;
    while (environ && environ[envc]) envc++;
    char **copy = malloc((envc + 1) * sizeof(char *));
    if (!copy) return;
    for (size_t i = 0; i < envc; i++) {
        if (environ[i] == end) end = environ[i] + strlen(environ[i]) + 1;
        copy[i] = strdup(environ[i]);
    }
    copy[envc] = NULL;
    environ = copy;
    title_start = start;
    title_end = end;
}

void cairn_set_proc_title(const char *title) {
    cairn_prepare_title_area();
    if (!title_start || title_end <= title_start) return;
    size_t room = (size_t)(title_end - title_start);
    size_t n = strlen(title);
    if (n >= room) n = room - 1;
    memcpy(title_start, title, n);
    memset(title_start + n, 0, room - n);
}

int cairn_start_writeback(int fd, long long offset, long long count) {
    return sync_file_range(fd, (off64_t)offset, (off64_t)count, SYNC_FILE_RANGE_WRITE);
}
