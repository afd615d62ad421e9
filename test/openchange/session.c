/* A minimal OpenChange asyncemsmdb session, for tests: what dcesrv_asyncemsmdb.c and
 * mapistore_notification.c do around Dovecot notifications, written against Debian's libnanomsg
 * and libmemcached (no OpenChange code).
 *   session '<libmemcached string>' <cn> <tcp://host:port>
 * Binds NN_PULL on the URL, registers it under resolver:<cn> (memcached_exist → get → duplicate
 * check → set, else add; value: u8 version=1, u32 max_count, u32 count, NUL-terminated URLs,
 * little-endian), prints "ready", then one line per payload received:
 *   <hex of the frame> flags=<n> backend=<s> eml=<s> folder=<hex> sep=<hex>   (or "bad <hex>")
 * SIGUSR1 removes the URL from the record but keeps receiving ("unregistered");
 * SIGTERM/SIGINT remove it and exit ("bye"). */
#include <libmemcached/memcached.h>
#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t want_unregister, want_exit;
static void on_usr1(int s) { (void) s; want_unregister = 1; }
static void on_term(int s) { (void) s; want_exit = 1; }

static memcached_st *memc;
static char key[512];

/* Parses a resolver record into at most max URLs (pointers into buf); -1 if malformed. */
static int parse_record(const char *buf, size_t len, const char **urls, int max) {
    if (len < 9 || (uint8_t) buf[0] != 1) return -1;
    uint32_t count = (uint8_t) buf[5] | (uint8_t) buf[6] << 8 | (uint8_t) buf[7] << 16 | (uint32_t) (uint8_t) buf[8] << 24;
    if (count > 100000 || (int) count > max) return -1;
    size_t off = 9;
    for (uint32_t i = 0; i < count; i++) {
        const char *end = memchr(buf + off, 0, len - off);
        if (!end) return -1;
        urls[i] = buf + off;
        off = (size_t) (end - buf) + 1;
    }
    return (int) count;
}

static size_t build_record(char *out, const char **urls, int count) {
    out[0] = 1;
    for (int i = 0; i < 4; i++) out[1 + i] = out[5 + i] = (char) ((uint32_t) count >> (8 * i));
    size_t off = 9;
    for (int i = 0; i < count; i++) {
        size_t n = strlen(urls[i]) + 1;
        memcpy(out + off, urls[i], n);
        off += n;
    }
    return off;
}

static int store(const char **urls, int count, int exists) {
    static char rec[65536];
    size_t len = build_record(rec, urls, count);
    memcached_return_t rc = exists ? memcached_set(memc, key, strlen(key), rec, len, 0, 0)
                                   : memcached_add(memc, key, strlen(key), rec, len, 0, 0);
    return rc == MEMCACHED_SUCCESS ? 0 : -1;
}

static int update(const char *url, int add) {
    const char *urls[256];
    int count = 0;
    int exists = memcached_exist(memc, key, strlen(key)) == MEMCACHED_SUCCESS;
    char *value = NULL;
    if (exists) {
        size_t len;
        uint32_t flags;
        memcached_return_t rc;
        value = memcached_get(memc, key, strlen(key), &len, &flags, &rc);
        if (!value) return -1;
        count = parse_record(value, len, urls, 255);
        if (count < 0) count = 0;
    }
    int w = 0, dup = 0;
    for (int i = 0; i < count; i++) { /* duplicate check, by prefix as OpenChange does */
        if (strncmp(urls[i], url, strlen(url)) != 0) urls[w++] = urls[i];
        else dup = 1;
    }
    if (add && dup) { /* already registered: OpenChange leaves the record alone */
        free(value);
        return 0;
    }
    if (add) urls[w++] = url;
    int rc = (w == 0 && exists) ? (memcached_delete(memc, key, strlen(key), 0) == MEMCACHED_SUCCESS ? 0 : -1)
                                : (w == 0 ? 0 : store(urls, w, exists));
    free(value);
    return rc;
}

static void hex(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
}

static void report(const unsigned char *buf, size_t n) {
    hex(buf, n);
    /* u8 version=1, u16 flags, backend\0, eml\0, folder\0, u8 separator */
    const unsigned char *parts[3];
    size_t off = 3;
    int ok = n >= 7 && buf[0] == 1;
    for (int i = 0; ok && i < 3; i++) {
        const unsigned char *end = memchr(buf + off, 0, n - off);
        if (!end) ok = 0;
        else {
            parts[i] = buf + off;
            off = (size_t) (end - buf) + 1;
        }
    }
    if (!ok || off + 1 != n) {
        printf(" bad\n");
        return;
    }
    printf(" flags=%u backend=%s eml=%s folder=", (unsigned) (buf[1] | buf[2] << 8), parts[0], parts[1]);
    hex(parts[2], strlen((const char *) parts[2]));
    printf(" sep=%02x\n", buf[off]);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: session '<libmemcached string>' <cn> <url>\n");
        return 64;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    memc = memcached(argv[1], strlen(argv[1]));
    if (!memc) return 64;
    snprintf(key, sizeof key, "resolver:%s", argv[2]);
    int sock = nn_socket(AF_SP, NN_PULL);
    int timeout = 50;
    nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVTIMEO, &timeout, sizeof timeout);
    if (sock < 0 || nn_bind(sock, argv[3]) < 0) {
        fprintf(stderr, "cannot bind %s: %s\n", argv[3], nn_strerror(nn_errno()));
        return 69;
    }
    if (update(argv[3], 1) < 0) {
        fprintf(stderr, "cannot register %s\n", key);
        return 69;
    }
    signal(SIGUSR1, on_usr1);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    printf("ready\n");
    for (;;) {
        if (want_unregister) {
            want_unregister = 0;
            printf(update(argv[3], 0) == 0 ? "unregistered\n" : "unregister failed\n");
        }
        if (want_exit) break;
        void *msg = NULL;
        int n = nn_recv(sock, &msg, NN_MSG, 0);
        if (n < 0) continue; /* timeout or signal: look at the flags again */
        report(msg, (size_t) n);
        nn_freemsg(msg);
    }
    update(argv[3], 0);
    nn_close(sock);
    memcached_free(memc);
    printf("bye\n");
    return 0;
}
