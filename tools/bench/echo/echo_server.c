// The ceiling of tools/bench: a single-threaded epoll server that answers length-prefixed
// requests with responses of a fixed size. No decode, no compute: what this machine's loopback
// and scheduler allow for the same byte sizes and concurrency as a Modelwire predict.
//
// Wire: request = u32 big-endian length L, then L bytes (ignored). Response = u32 big-endian
// length (R - 4), then R - 4 zero bytes, so a response is R bytes in all.
// Usage: echo_server PORT RESPONSE_BYTES    (PORT 0 picks one; prints "echo listening on 127.0.0.1:PORT")
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
#include <unistd.h>

typedef struct {
    int fd;
    uint8_t *in; size_t in_len, in_cap;
    uint8_t *out; size_t out_len, out_off, out_cap;
} conn_t;

static size_t response_bytes;
static uint8_t *response;

static void grow(uint8_t **buf, size_t *cap, size_t need) {
    if (need <= *cap) return;
    size_t c = *cap ? *cap : 4096;
    while (c < need) c *= 2;
    *buf = realloc(*buf, c); if (!*buf) { perror("realloc"); exit(1); }
    *cap = c;
}

static int flush_out(conn_t *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) { if (errno == EAGAIN) return 0; return -1; }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s PORT RESPONSE_BYTES\n", argv[0]); return 2; }
    int port = atoi(argv[1]);
    response_bytes = (size_t)atol(argv[2]);
    if (response_bytes < 4) response_bytes = 4;
    response = calloc(1, response_bytes);
    uint32_t body = htonl((uint32_t)(response_bytes - 4));
    memcpy(response, &body, 4);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) || listen(lfd, 1024)) { perror("bind/listen"); return 1; }
    socklen_t len = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &len);
    printf("echo listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);

    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        if (n < 0) { if (errno == EINTR) continue; perror("epoll_wait"); return 1; }
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn_t *nc = calloc(1, sizeof *nc); nc->fd = fd;
                    struct epoll_event cev = { .events = EPOLLIN, .data.ptr = nc };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            int closed = 0;
            for (;;) {  // read everything available
                grow(&c->in, &c->in_cap, c->in_len + 65536);
                ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
                if (r > 0) { c->in_len += (size_t)r; continue; }
                if (r == 0 || errno != EAGAIN) closed = 1;
                break;
            }
            size_t off = 0;  // answer every complete request, in one write
            while (c->in_len - off >= 4) {
                uint32_t l; memcpy(&l, c->in + off, 4); l = ntohl(l);
                if (c->in_len - off < 4 + (size_t)l) break;
                off += 4 + l;
                grow(&c->out, &c->out_cap, c->out_len + response_bytes);
                memcpy(c->out + c->out_len, response, response_bytes);
                c->out_len += response_bytes;
            }
            memmove(c->in, c->in + off, c->in_len - off);
            c->in_len -= off;
            if (!closed && flush_out(c) < 0) closed = 1;
            if (!closed && c->out_len > c->out_off) {  // rare: wait until writable
                struct epoll_event wev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &wev);
            } else if (!closed && (events[i].events & EPOLLOUT)) {
                struct epoll_event rev = { .events = EPOLLIN, .data.ptr = c };
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &rev);
            }
            if (closed) { close(c->fd); free(c->in); free(c->out); free(c); }
        }
    }
}
