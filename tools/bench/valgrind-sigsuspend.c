// An LD_PRELOAD shim that lets valgrind 3.19 (Debian 12) run a Swift server (tools/bench/callgrind.py).
// A Swift async main ends in dispatch_main(), whose thread waits in sigsuspend() on a signal mask
// kept in read-only memory; valgrind 3.19 writes to the mask it is given and dies with SIGSEGV
// ("VALGRIND INTERNAL ERROR ... Faulting address" in _dispatch_sigsuspend). This sigsuspend
// passes the kernel a writable copy of the mask instead; nothing else changes.
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, 8);
}
