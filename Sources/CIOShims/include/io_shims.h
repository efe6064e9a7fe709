#ifndef CAPGATE_IO_SHIMS_H
#define CAPGATE_IO_SHIMS_H
// Linux IO calls that Swift's Glibc module does not export (sys/epoll.h,
// sys/eventfd.h, sys/signalfd.h, accept4 behind _GNU_SOURCE) and macros that
// do not import (SIG_IGN). Used only by the CapgateIO target.
//
// Constants are plain integers so Swift imports them; io_shims.c checks each
// against the real kernel header with _Static_assert.
#include <stdint.h>

#define CAPGATE_EPOLLIN 0x001u
#define CAPGATE_EPOLLOUT 0x004u
#define CAPGATE_EPOLLERR 0x008u
#define CAPGATE_EPOLLHUP 0x010u
#define CAPGATE_EPOLLRDHUP 0x2000u
#define CAPGATE_EPOLLET 0x80000000u

#define CAPGATE_EPOLL_CTL_ADD 1
#define CAPGATE_EPOLL_CTL_DEL 2
#define CAPGATE_EPOLL_CTL_MOD 3

/// One ready event as epoll reports it, unpacked (struct epoll_event is
/// packed on x86-64, which Swift would import awkwardly).
typedef struct capgate_epoll_ready {
    uint32_t events;
    uint64_t token;
} capgate_epoll_ready;

/// epoll_create1(EPOLL_CLOEXEC). Returns fd or -1 (errno set).
int capgate_epoll_create(void);
/// epoll_ctl with (events, token). `op` is one of CAPGATE_EPOLL_CTL_*.
int capgate_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token);
/// epoll_wait into `out` (at most `max`, capped at 256). Returns count or -1.
int capgate_epoll_wait(int epfd, capgate_epoll_ready *out, int max, int timeout_ms);

/// eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC). Returns fd or -1.
int capgate_eventfd(void);
/// Adds 1 to the eventfd counter. Returns 0 or -1 (errno set).
int capgate_eventfd_signal(int fd);
/// Reads and resets the eventfd counter. Returns 0 or -1 (errno set; EAGAIN if zero).
int capgate_eventfd_drain(int fd);

/// accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC). `addr` points to a
/// struct sockaddr_storage, `len` in/out. Returns fd or -1.
int capgate_accept4(int fd, void *addr, uint32_t *len);

/// Blocks `signals` in the calling thread (pthread_sigmask SIG_BLOCK). Threads
/// created afterwards inherit the mask. Returns 0 or an errno value.
int capgate_block_signals(const int *signals, int count);
/// Unblocks `signals` in the calling thread. Returns 0 or an errno value.
int capgate_unblock_signals(const int *signals, int count);
/// signalfd(-1, {signals}, SFD_NONBLOCK | SFD_CLOEXEC). Returns fd or -1.
int capgate_signalfd(const int *signals, int count);
/// Reads one signalfd_siginfo. Returns the signal number, or -1 (errno set;
/// EAGAIN when none is pending).
int capgate_signalfd_read(int fd);
/// signal(SIGPIPE, SIG_IGN): a peer that closes makes write(2) raise SIGPIPE,
/// whose default action kills the whole process. Returns 0 or -1.
int capgate_ignore_sigpipe(void);
/// pthread_kill(pthread_self-like handle, sig): thread-directed delivery. Returns 0 or errno.
int capgate_thread_kill(unsigned long thread, int sig);
/// pthread_self() as an integer (for thread-directed signals and loop ownership checks).
unsigned long capgate_thread_self(void);

#endif
