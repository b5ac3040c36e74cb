/*
 * A minimal Modelwire v1 client in C, written from proto/ and proto/PROTOCOL.md only:
 * protobuf-c for the messages (the protoc-c output committed in Sources/CModelwireProtobuf),
 * zlib for compression, POSIX sockets for TCP.
 *
 *   modelwire-c HOST PORT MODEL COLUMNS V1 V2 ...
 *
 * 1. Handshake (HELLO with ClientHello{[1], [NONE, ZLIB]}; ServerHello or ERROR).
 * 2. Predict on MODEL with the given row-major values, the request compressed (COMPRESSED flag
 *    forced, whatever its size), timeout 5000 ms; prints the answer.
 * 3. Predict on a model that does not exist; prints the ERROR's status code and message.
 * Exit status 0 when the predict succeeded and the failing call ended with NOT_FOUND (5).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "modelwire/v1/handshake.pb-c.h"
#include "modelwire/v1/predict.pb-c.h"
#include "modelwire/v1/status.pb-c.h"

enum { HEADER_SIZE = 20 };
enum { K_HELLO = 1, K_REQUEST = 2, K_MESSAGE = 3, K_ERROR = 4, K_CANCEL = 5, K_PING = 6, K_PONG = 7, K_GOAWAY = 8 };
enum { F_END_STREAM = 0x01, F_COMPRESSED = 0x02 };
enum { METHOD_PREDICT = 0x0101 };

typedef struct {
    uint8_t kind, flags;
    uint16_t method;
    uint32_t call_id, timeout_ms, length;
    uint8_t *payload; /* malloc'd, length bytes (inflated when the frame was compressed) */
} Frame;

/* Limits in force (from ServerHello; defaults of PROTOCOL.md §10 until then). */
static uint32_t max_frame_bytes = 16u << 20, max_message_bytes = 64u << 20, max_ratio = 200;
/* max_ratio applies only past this many inflated bytes (Limits.ratio_check_min_bytes, §8). */
static uint32_t ratio_check_min_bytes = 1u << 20;

static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static int write_all(int fd, const uint8_t *data, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        data += w; n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, uint8_t *data, size_t n) {
    while (n > 0) {
        ssize_t r = recv(fd, data, n, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1; /* closed or failed */
        data += r; n -= (size_t)r;
    }
    return 0;
}

/* PROTOCOL.md §2: magic "MW", frame version 1, kind, flags, reserved 0, method, call id, timeout ms, length. */
static int send_frame(int fd, uint8_t kind, uint8_t flags, uint16_t method, uint32_t call_id, uint32_t timeout_ms,
                      const uint8_t *payload, uint32_t length) {
    uint8_t header[HEADER_SIZE] = {0x4D, 0x57, 1, kind, flags, 0, (uint8_t)(method >> 8), (uint8_t)method};
    put32(header + 8, call_id);
    put32(header + 12, timeout_ms);
    put32(header + 16, length);
    if (write_all(fd, header, HEADER_SIZE) != 0) return -1;
    return length ? write_all(fd, payload, length) : 0;
}

/* Inflates with the §8 limits, enforced while inflating: at most max_message_bytes, and max_ratio x the
 * input once past ratio_check_min_bytes. */
static int inflate_bounded(const uint8_t *in, uint32_t in_len, uint8_t **out, uint32_t *out_len) {
    uint64_t limit = max_message_bytes;
    uint64_t by_ratio = (uint64_t)max_ratio * in_len;
    if (by_ratio < ratio_check_min_bytes) by_ratio = ratio_check_min_bytes;
    if (max_ratio && by_ratio < limit) limit = by_ratio;
    size_t capacity = in_len * 4 + 64;
    if (capacity > limit + 1) capacity = limit + 1;
    uint8_t *buffer = malloc(capacity);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (!buffer || inflateInit(&z) != Z_OK) { free(buffer); return -1; }
    z.next_in = (Bytef *)in;
    z.avail_in = in_len;
    int rc;
    for (;;) {
        z.next_out = buffer + z.total_out;
        z.avail_out = (uInt)(capacity - z.total_out);
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) { fprintf(stderr, "corrupt compressed payload\n"); goto fail; }
        if (z.total_out > limit) { fprintf(stderr, "compressed payload inflates past its limit\n"); goto fail; }
        if (z.avail_out == 0) {
            if (capacity > limit) { fprintf(stderr, "compressed payload inflates past its limit\n"); goto fail; }
            capacity = capacity * 2 > limit + 1 ? limit + 1 : capacity * 2;
            uint8_t *bigger = realloc(buffer, capacity);
            if (!bigger) goto fail;
            buffer = bigger;
        } else if (z.avail_in == 0) { fprintf(stderr, "truncated compressed payload\n"); goto fail; }
    }
    if (z.total_out > limit || z.avail_in != 0) { fprintf(stderr, "compressed payload too large or with trailing bytes\n"); goto fail; }
    *out = buffer;
    *out_len = (uint32_t)z.total_out;
    inflateEnd(&z);
    return 0;
fail:
    inflateEnd(&z);
    free(buffer);
    return -1;
}

/* Reads one frame, validating the header (§2) and inflating COMPRESSED payloads (§8). */
static int read_frame(int fd, Frame *frame) {
    uint8_t header[HEADER_SIZE];
    if (read_all(fd, header, HEADER_SIZE) != 0) { fprintf(stderr, "connection closed\n"); return -1; }
    if (header[0] != 0x4D || header[1] != 0x57 || header[2] != 1 || header[3] < K_HELLO || header[3] > K_GOAWAY ||
        (header[4] & ~(F_END_STREAM | F_COMPRESSED)) || header[5] != 0) {
        fprintf(stderr, "framing error from the server\n");
        return -1;
    }
    frame->kind = header[3];
    frame->flags = header[4];
    frame->method = (uint16_t)(header[6] << 8 | header[7]);
    frame->call_id = get32(header + 8);
    frame->timeout_ms = get32(header + 12);
    frame->length = get32(header + 16);
    if (frame->length > max_frame_bytes) { fprintf(stderr, "frame of %u bytes is too large\n", frame->length); return -1; }
    frame->payload = malloc(frame->length ? frame->length : 1);
    if (!frame->payload || (frame->length && read_all(fd, frame->payload, frame->length) != 0)) return -1;
    if (frame->flags & F_COMPRESSED) {
        uint8_t *plain;
        uint32_t plain_len;
        if (inflate_bounded(frame->payload, frame->length, &plain, &plain_len) != 0) return -1;
        free(frame->payload);
        frame->payload = plain;
        frame->length = plain_len;
    }
    return 0;
}

static const char *code_name(int code) {
    static const char *names[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                                  "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                                  "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                  "UNAUTHENTICATED"};
    return code >= 0 && code <= 16 ? names[code] : "?";
}

/* Prints an ERROR payload; returns its code (-1 when undecodable). */
static int report_status(const char *what, const Frame *frame) {
    Modelwire__V1__Status *status = modelwire__v1__status__unpack(NULL, frame->length, frame->payload);
    if (!status) { fprintf(stderr, "%s: undecodable Status\n", what); return -1; }
    int code = status->code;
    printf("%s: status %d %s: %s", what, code, code_name(code), status->message);
    if (status->retry_after_case == MODELWIRE__V1__STATUS__RETRY_AFTER_RETRY_AFTER_MS)
        printf(" (retry after %u ms)", status->retry_after_ms);
    printf("\n");
    modelwire__v1__status__free_unpacked(status, NULL);
    return code;
}

static int connect_to(const char *host, const char *port) {
    struct addrinfo hints = {0}, *list, *ai;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &list) != 0) return -1;
    int fd = -1;
    for (ai = list; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(list);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct timeval tv = {10, 0}; /* never hang: a 10 s receive timeout */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    return fd;
}

static int handshake(int fd) {
    uint32_t versions[] = {1};
    Modelwire__V1__Compression accepted[] = {MODELWIRE__V1__COMPRESSION__COMPRESSION_NONE,
                                             MODELWIRE__V1__COMPRESSION__COMPRESSION_ZLIB};
    Modelwire__V1__ClientHello hello = MODELWIRE__V1__CLIENT_HELLO__INIT;
    hello.n_protocol_versions = 1;
    hello.protocol_versions = versions;
    hello.n_compression = 2;
    hello.compression = accepted;
    hello.client_name = "modelwire-c/0.1";
    /* A server with --auth-file wants a bearer token (PROTOCOL.md §3.1): from $MODELWIRE_TOKEN,
       never from argv (ps shows argv to everyone). */
    Modelwire__V1__Credentials credentials = MODELWIRE__V1__CREDENTIALS__INIT;
    const char *token = getenv("MODELWIRE_TOKEN");
    if (token && *token) {
        credentials.kind_case = MODELWIRE__V1__CREDENTIALS__KIND_BEARER_TOKEN;
        credentials.bearer_token = (char *)token;
        hello.credentials = &credentials;
    }
    size_t size = modelwire__v1__client_hello__get_packed_size(&hello);
    uint8_t *buffer = malloc(size ? size : 1);
    modelwire__v1__client_hello__pack(&hello, buffer);
    int rc = send_frame(fd, K_HELLO, 0, 0, 0, 0, buffer, (uint32_t)size);
    free(buffer);
    if (rc != 0) return -1;
    Frame frame;
    if (read_frame(fd, &frame) != 0) return -1;
    if (frame.kind == K_ERROR) { report_status("handshake", &frame); free(frame.payload); return -1; }
    if (frame.kind != K_HELLO) { fprintf(stderr, "expected HELLO, got kind %d\n", frame.kind); free(frame.payload); return -1; }
    Modelwire__V1__ServerHello *server = modelwire__v1__server_hello__unpack(NULL, frame.length, frame.payload);
    free(frame.payload);
    if (!server) { fprintf(stderr, "undecodable ServerHello\n"); return -1; }
    if (server->limits) {
        if (server->limits->max_frame_bytes) max_frame_bytes = server->limits->max_frame_bytes;
        if (server->limits->max_message_bytes) max_message_bytes = server->limits->max_message_bytes;
        if (server->limits->max_decompression_ratio) max_ratio = server->limits->max_decompression_ratio;
        if (server->limits->ratio_check_min_bytes) ratio_check_min_bytes = server->limits->ratio_check_min_bytes;
    }
    printf("handshake: %s, protocol %u, compression %s, max frame %u bytes\n", server->server_name,
           server->protocol_version, server->compression == MODELWIRE__V1__COMPRESSION__COMPRESSION_ZLIB ? "zlib" : "none",
           max_frame_bytes);
    modelwire__v1__server_hello__free_unpacked(server, NULL);
    return 0;
}

/* Sends a Predict REQUEST (zlib-compressed when `compress`), END_STREAM, with a timeout. */
static int send_predict(int fd, uint32_t call_id, const char *model, uint32_t columns, float *values, size_t n,
                        int compress) {
    Modelwire__V1__ModelRef ref = MODELWIRE__V1__MODEL_REF__INIT;
    ref.name = (char *)model;
    Modelwire__V1__Tensor inputs = MODELWIRE__V1__TENSOR__INIT;
    inputs.columns = columns;
    inputs.n_values = n;
    inputs.values = values;
    Modelwire__V1__PredictRequest request = MODELWIRE__V1__PREDICT_REQUEST__INIT;
    request.model = &ref;
    request.inputs = &inputs;
    request.include_probabilities = 1;
    size_t size = modelwire__v1__predict_request__get_packed_size(&request);
    uint8_t *plain = malloc(size ? size : 1);
    modelwire__v1__predict_request__pack(&request, plain);
    uint8_t flags = F_END_STREAM;
    uint8_t *payload = plain;
    uLongf length = size;
    if (compress) {
        length = compressBound(size);
        payload = malloc(length);
        if (compress2(payload, &length, plain, size, Z_DEFAULT_COMPRESSION) != Z_OK) return -1;
        if (size > ratio_check_min_bytes && (uint64_t)length * max_ratio < size) {
            /* the server would refuse it as a bomb (§8): send it plain */
            free(payload);
            payload = plain;
            length = size;
            printf("predict request: %zu bytes, sent plain (compressed it would pass the ratio limit)\n", size);
        } else {
            flags |= F_COMPRESSED;
            printf("predict request: %zu bytes, sent compressed as %lu bytes\n", size, (unsigned long)length);
        }
    }
    int rc = send_frame(fd, K_REQUEST, flags, METHOD_PREDICT, call_id, 5000, payload, (uint32_t)length);
    if (payload != plain) free(payload);
    free(plain);
    return rc;
}

/* Reads frames until call_id ends: PING is answered, GOAWAY noted, other calls' frames ignored.
 * Returns K_MESSAGE (frame holds the response) or K_ERROR (frame holds the Status), -1 on failure. */
static int await_call(int fd, uint32_t call_id, Frame *frame) {
    for (;;) {
        if (read_frame(fd, frame) != 0) return -1;
        if (frame->kind == K_PING) {
            send_frame(fd, K_PONG, 0, 0, 0, 0, frame->payload, frame->length);
        } else if (frame->kind == K_GOAWAY) {
            printf("server sent GOAWAY\n");
        } else if (frame->kind == K_ERROR && frame->call_id == 0) {
            report_status("connection", frame);
            free(frame->payload);
            return -1;
        } else if (frame->call_id == call_id && (frame->kind == K_MESSAGE || frame->kind == K_ERROR)) {
            if (frame->kind == K_MESSAGE && !(frame->flags & F_END_STREAM)) {
                fprintf(stderr, "a unary call got a MESSAGE without END_STREAM\n");
                free(frame->payload);
                return -1;
            }
            return frame->kind;
        }
        free(frame->payload);
    }
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s HOST PORT MODEL COLUMNS VALUE...\n", argv[0]);
        return 2;
    }
    const char *model = argv[3];
    uint32_t columns = (uint32_t)strtoul(argv[4], NULL, 10);
    size_t n = (size_t)(argc - 5);
    float *values = malloc(n * sizeof *values);
    for (size_t i = 0; i < n; i++) values[i] = strtof(argv[5 + i], NULL);

    int fd = connect_to(argv[1], argv[2]);
    if (fd < 0) { fprintf(stderr, "cannot connect to %s:%s\n", argv[1], argv[2]); return 1; }
    if (handshake(fd) != 0) return 1;

    int ok = 1;
    Frame frame;
    /* 1. A predict with a compressed request. */
    if (send_predict(fd, 1, model, columns, values, n, 1) != 0) { fprintf(stderr, "send failed\n"); return 1; }
    int kind = await_call(fd, 1, &frame);
    if (kind == K_MESSAGE) {
        Modelwire__V1__PredictResponse *response = modelwire__v1__predict_response__unpack(NULL, frame.length, frame.payload);
        if (!response) { fprintf(stderr, "undecodable PredictResponse\n"); return 1; }
        size_t rows = response->n_class_ids ? response->n_class_ids : response->n_values; /* classification or regression */
        printf("predict: model %s version %u, %zu rows%s\n", response->model, response->version, rows,
               (frame.flags & F_COMPRESSED) ? " (response was compressed)" : "");
        for (size_t r = 0; r < response->n_values; r++) printf("  row %zu: value %g\n", r, response->values[r]);
        for (size_t r = 0; r < response->n_class_ids; r++) {
            uint32_t id = response->class_ids[r];
            printf("  row %zu: class %u (%s)", r, id, id < response->n_class_names ? response->class_names[id] : "?");
            if (response->scores && response->scores->columns) {
                printf(" scores");
                for (uint32_t c = 0; c < response->scores->columns; c++)
                    printf(" %.4f", response->scores->values[r * response->scores->columns + c]);
            }
            printf("\n");
        }
        if (rows * columns != n) { fprintf(stderr, "expected %zu rows\n", n / columns); ok = 0; }
        modelwire__v1__predict_response__free_unpacked(response, NULL);
    } else if (kind == K_ERROR) {
        report_status("predict", &frame);
        ok = 0;
    } else {
        return 1;
    }
    free(frame.payload);

    /* 2. A failing call: a model that does not exist. */
    if (send_predict(fd, 2, "no-such-model", columns, values, n, 0) != 0) { fprintf(stderr, "send failed\n"); return 1; }
    kind = await_call(fd, 2, &frame);
    if (kind == K_ERROR) {
        int code = report_status("failing call", &frame);
        if (code != MODELWIRE__V1__STATUS_CODE__STATUS_CODE_NOT_FOUND) { fprintf(stderr, "expected NOT_FOUND\n"); ok = 0; }
    } else {
        fprintf(stderr, "the call on an unknown model did not fail\n");
        ok = 0;
    }
    if (kind >= 0) free(frame.payload);
    close(fd);
    free(values);
    printf("%s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
