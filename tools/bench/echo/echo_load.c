// Closed-loop load for echo_server: CONCURRENCY requests in flight spread over CONNECTIONS
// connections (pipelined, answered in order), single-threaded epoll. Warm-up, then a measured
// window; prints one JSON object: calls, throughput, latency percentiles (ms), and the CPU
// seconds of this process and of --cpu-pid over the window.
// Usage: echo_load HOST:PORT REQUEST_BYTES CONCURRENCY CONNECTIONS WARMUP_S DURATION_S [CPU_PID]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_seconds(int pid) {
    char path[64]; snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r"); if (!f) return -1;
    char buf[1024]; if (!fgets(buf, sizeof buf, f)) { fclose(f); return -1; }
    fclose(f);
    char *p = strrchr(buf, ')'); if (!p) return -1;
    unsigned long ut = 0, st = 0;
    // after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b; return x < y ? -1 : x > y;
}

typedef struct {
    int fd;
    uint64_t *sent; size_t head, tail, cap;  // send times of requests in flight (a ring)
    uint8_t hdr[4]; size_t hdr_have;  // header bytes of the current response seen so far
    size_t body_left;                  // body bytes of the current response still to come
} conn_t;

static uint8_t scratch[1 << 16];

int main(int argc, char **argv) {
    if (argc < 7) { fprintf(stderr, "usage: %s HOST:PORT REQUEST_BYTES CONCURRENCY CONNECTIONS WARMUP_S DURATION_S [CPU_PID]\n", argv[0]); return 2; }
    char host[64]; int port;
    if (sscanf(argv[1], "%63[^:]:%d", host, &port) != 2) { fprintf(stderr, "bad address\n"); return 2; }
    size_t req_bytes = (size_t)atol(argv[2]); if (req_bytes < 4) req_bytes = 4;
    int conc = atoi(argv[3]), nconn = atoi(argv[4]);
    if (nconn > conc) nconn = conc;
    double warmup = atof(argv[5]), duration = atof(argv[6]);
    int cpu_pid = argc > 7 ? atoi(argv[7]) : 0;

    uint8_t *req = calloc(1, req_bytes);
    uint32_t body = htonl((uint32_t)(req_bytes - 4)); memcpy(req, &body, 4);

    int ep = epoll_create1(0), one = 1;
    conn_t *conns = calloc((size_t)nconn, sizeof *conns);
    for (int i = 0; i < nconn; i++) {
        conn_t *c = &conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        inet_pton(AF_INET, host, &a.sin_addr);
        if (connect(c->fd, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->cap = (size_t)conc + 1; c->sent = calloc(c->cap, sizeof(uint64_t));
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    size_t cap_samples = 1 << 20, nsamples = 0;
    uint64_t *samples = malloc(cap_samples * sizeof(uint64_t));

    uint64_t start = now_ns(), mstart = start + (uint64_t)(warmup * 1e9), mend = mstart + (uint64_t)(duration * 1e9);
    // Initial burst: spread CONCURRENCY requests over the connections.
    for (int k = 0; k < conc; k++) {
        conn_t *c = &conns[k % nconn];
        c->sent[c->tail] = now_ns(); c->tail = (c->tail + 1) % c->cap;
        if (send(c->fd, req, req_bytes, MSG_NOSIGNAL) != (ssize_t)req_bytes) { perror("send"); return 1; }
    }
    double cpu0_self = -1, cpu0_other = -1, cpu1_self = -1, cpu1_other = -1;
    int in_window = 0, done = 0;
    struct epoll_event events[64];
    while (!done) {
        int n = epoll_wait(ep, events, 64, 100);
        uint64_t t = now_ns();
        if (!in_window && t >= mstart) { in_window = 1; cpu0_self = cpu_seconds(getpid()); cpu0_other = cpu_pid ? cpu_seconds(cpu_pid) : -1; }
        if (t >= mend) break;
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            ssize_t r = recv(c->fd, scratch, sizeof scratch, MSG_DONTWAIT);
            if (r <= 0) { if (r < 0 && errno == EAGAIN) continue; fprintf(stderr, "connection closed\n"); return 1; }
            size_t p = 0, replies = 0;
            while (p < (size_t)r) {
                int complete = 0;
                if (c->hdr_have < 4) {
                    size_t take = 4 - c->hdr_have; if (take > (size_t)r - p) take = (size_t)r - p;
                    memcpy(c->hdr + c->hdr_have, scratch + p, take); c->hdr_have += take; p += take;
                    if (c->hdr_have == 4) { uint32_t l; memcpy(&l, c->hdr, 4); c->body_left = ntohl(l); complete = c->body_left == 0; }
                } else {
                    size_t take = c->body_left; if (take > (size_t)r - p) take = (size_t)r - p;
                    p += take; c->body_left -= take; complete = c->body_left == 0;
                }
                if (!complete) continue;
                c->hdr_have = 0; replies++;
                uint64_t t1 = now_ns(), t0 = c->sent[c->head]; c->head = (c->head + 1) % c->cap;
                if (t1 >= mstart && t1 <= mend) {
                    if (nsamples == cap_samples) { cap_samples *= 2; samples = realloc(samples, cap_samples * sizeof(uint64_t)); }
                    samples[nsamples++] = t1 - t0;
                }
            }
            for (size_t k = 0; k < replies; k++) {  // closed loop: one new request per answer
                c->sent[c->tail] = now_ns(); c->tail = (c->tail + 1) % c->cap;
            }
            if (replies) {
                size_t total = replies * req_bytes; uint8_t *burst = malloc(total);
                for (size_t k = 0; k < replies; k++) memcpy(burst + k * req_bytes, req, req_bytes);
                size_t sent = 0;
                while (sent < total) { ssize_t w = send(c->fd, burst + sent, total - sent, MSG_NOSIGNAL); if (w < 0) { if (errno == EAGAIN) continue; perror("send"); return 1; } sent += (size_t)w; }
                free(burst);
            }
        }
    }
    cpu1_self = cpu_seconds(getpid()); cpu1_other = cpu_pid ? cpu_seconds(cpu_pid) : -1;
    qsort(samples, nsamples, sizeof(uint64_t), cmp);
#define PCT(p) (nsamples ? (double)samples[(size_t)((p) / 100.0 * (double)(nsamples - 1))] / 1e6 : 0)
    printf("{\"calls\": %zu, \"seconds\": %.3f, \"throughput\": %.1f, \"p50Ms\": %.4f, \"p90Ms\": %.4f, \"p99Ms\": %.4f, "
           "\"p999Ms\": %.4f, \"maxMs\": %.4f, \"cpuSelf\": %.2f, \"cpuOther\": %.2f}\n",
           nsamples, duration, nsamples / duration, PCT(50), PCT(90), PCT(99), PCT(99.9),
           nsamples ? (double)samples[nsamples - 1] / 1e6 : 0, cpu1_self - cpu0_self,
           cpu_pid ? cpu1_other - cpu0_other : 0);
    return 0;
}
