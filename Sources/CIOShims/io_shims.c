// Linux IO wrappers for CapgateIO. _GNU_SOURCE is defined here only: inside a module
// header it makes the C headers and Swift's Glibc module disagree (an fd_set module conflict).
#define _GNU_SOURCE
#include "io_shims.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

_Static_assert(CAPGATE_EPOLLIN == EPOLLIN, "EPOLLIN");
_Static_assert(CAPGATE_EPOLLOUT == EPOLLOUT, "EPOLLOUT");
_Static_assert(CAPGATE_EPOLLERR == EPOLLERR, "EPOLLERR");
_Static_assert(CAPGATE_EPOLLHUP == EPOLLHUP, "EPOLLHUP");
_Static_assert(CAPGATE_EPOLLRDHUP == EPOLLRDHUP, "EPOLLRDHUP");
_Static_assert(CAPGATE_EPOLLET == (uint32_t)EPOLLET, "EPOLLET");
_Static_assert(CAPGATE_EPOLL_CTL_ADD == EPOLL_CTL_ADD, "EPOLL_CTL_ADD");
_Static_assert(CAPGATE_EPOLL_CTL_DEL == EPOLL_CTL_DEL, "EPOLL_CTL_DEL");
_Static_assert(CAPGATE_EPOLL_CTL_MOD == EPOLL_CTL_MOD, "EPOLL_CTL_MOD");
_Static_assert(sizeof(pthread_t) <= sizeof(unsigned long), "pthread_t fits");

int capgate_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int capgate_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = token;
    return epoll_ctl(epfd, op, fd, &ev);
}

int capgate_epoll_wait(int epfd, capgate_epoll_ready *out, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    if (max < 1) { errno = EINVAL; return -1; }
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        out[i].events = evs[i].events;
        out[i].token = evs[i].data.u64;
    }
    return n;
}

int capgate_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int capgate_eventfd_signal(int fd) {
    eventfd_t one = 1;
    return write(fd, &one, sizeof one) == (ssize_t)sizeof one ? 0 : -1;
}

int capgate_eventfd_drain(int fd) {
    eventfd_t value;
    return read(fd, &value, sizeof value) == (ssize_t)sizeof value ? 0 : -1;
}

int capgate_accept4(int fd, void *addr, uint32_t *len) {
    socklen_t l = (socklen_t)*len;
    int r = accept4(fd, (struct sockaddr *)addr, &l, SOCK_NONBLOCK | SOCK_CLOEXEC);
    *len = (uint32_t)l;
    return r;
}

static int fill_set(sigset_t *set, const int *signals, int count) {
    sigemptyset(set);
    for (int i = 0; i < count; i++) {
        if (sigaddset(set, signals[i]) != 0) return -1;
    }
    return 0;
}

int capgate_block_signals(const int *signals, int count) {
    sigset_t set;
    if (fill_set(&set, signals, count) != 0) return EINVAL;
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int capgate_unblock_signals(const int *signals, int count) {
    sigset_t set;
    if (fill_set(&set, signals, count) != 0) return EINVAL;
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int capgate_signalfd(const int *signals, int count) {
    sigset_t set;
    if (fill_set(&set, signals, count) != 0) { errno = EINVAL; return -1; }
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int capgate_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n != (ssize_t)sizeof info) {
        if (n >= 0) errno = EIO;
        return -1;
    }
    return (int)info.ssi_signo;
}

int capgate_ignore_sigpipe(void) { return signal(SIGPIPE, SIG_IGN) == SIG_ERR ? -1 : 0; }

int capgate_thread_kill(unsigned long thread, int sig) { return pthread_kill((pthread_t)thread, sig); }

unsigned long capgate_thread_self(void) { return (unsigned long)pthread_self(); }
