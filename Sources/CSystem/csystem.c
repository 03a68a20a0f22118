#define _GNU_SOURCE
#include "csystem.h"
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <signal.h>
#include <unistd.h>

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

size_t cairn_malloc_used(void) {
    if (__sanitizer_get_current_allocated_bytes) return __sanitizer_get_current_allocated_bytes();
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}
