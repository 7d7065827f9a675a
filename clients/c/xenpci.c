/* C client of the xenpci simulator protocol 1.0: see xenpci.h and docs/simulator-protocol.md. */
#define _POSIX_C_SOURCE 200809L
#include "xenpci.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define XP_MAGIC 0x49435058u
#define XP_HEADER 16
#define XP_FLAG_REPLY 1u
#define XP_FLAG_ERROR 2u
#define XP_FLAG_EVENT 4u
#define XP_MAX_PAYLOAD (16u << 20)
#define XP_EVENT_RING 256

enum {
    HELLO = 0x0001, PLATFORM_CREATE = 0x0002, GUEST_CREATE = 0x0003, MMIO_READ = 0x0010,
    MMIO_WRITE = 0x0011, HVC = 0x0012, IRQ_ACK = 0x0013, IRQ_PENDING = 0x0014, PAUSE = 0x0020,
    UNPAUSE = 0x0021, DESTROY = 0x0022, SNAPSHOT = 0x0023, DEVICE_SIGNAL = 0x0030, SHUTDOWN = 0x00FF,
    IRQ_EVENT = 0x4001
};

struct xp_client {
    int fd;
    uint32_t next_id;
    char error[1024];
    int detail;
    xp_irq_event events[XP_EVENT_RING];
    unsigned ev_head, ev_count;
};

/* ---- little-endian helpers ---- */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

static int io_fail(xp_client *c, const char *what) {
    snprintf(c->error, sizeof c->error, "%s: %s", what, errno ? strerror(errno) : "connection closed");
    c->detail = 0;
    return XP_EIO;
}

static int write_all(int fd, const uint8_t *b, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, uint8_t *b, size_t n) {
    while (n > 0) {
        ssize_t r = read(fd, b, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { if (r == 0) errno = 0; return -1; }
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

int xp_call(xp_client *c, uint16_t type, const void *payload, uint32_t len, uint8_t **reply, uint32_t *reply_len) {
    uint8_t h[XP_HEADER];
    uint32_t id = c->next_id++;
    if (c->next_id == 0) c->next_id = 1;
    put32(h, len); put16(h + 4, type); put16(h + 6, 0); put32(h + 8, id); put32(h + 12, 0);
    if (write_all(c->fd, h, sizeof h) || (len && write_all(c->fd, payload, len))) return io_fail(c, "write");
    for (;;) {
        if (read_all(c->fd, h, sizeof h)) return io_fail(c, "read");
        uint32_t size = get32(h), fid = get32(h + 8);
        uint16_t flags = get16(h + 6), ftype = get16(h + 4);
        int32_t status = (int32_t)get32(h + 12);
        if (size > XP_MAX_PAYLOAD) { errno = EPROTO; return io_fail(c, "frame too large"); }
        uint8_t *p = malloc((size_t)size + 1);
        if (!p) { errno = ENOMEM; return io_fail(c, "malloc"); }
        if (size && read_all(c->fd, p, size)) { free(p); return io_fail(c, "read"); }
        p[size] = 0;
        if (flags & XP_FLAG_EVENT) {
            if (ftype == IRQ_EVENT && size >= 8 && c->ev_count < XP_EVENT_RING) {
                xp_irq_event *e = &c->events[(c->ev_head + c->ev_count++) % XP_EVENT_RING];
                e->domid = get16(p); e->vcpu = get16(p + 2); e->intid = get32(p + 4);
            }
            free(p);
            continue; /* unknown events are ignored (versioning policy) */
        }
        if (!(flags & XP_FLAG_REPLY) || fid != id) {
            free(p);
            errno = EPROTO;
            return io_fail(c, "unexpected frame");
        }
        if (flags & XP_FLAG_ERROR) {
            c->detail = size >= 4 ? (int32_t)get32(p) : 0;
            snprintf(c->error, sizeof c->error, "%s", size >= 4 ? (char *)p + 4 : "");
            free(p);
            return status < 0 ? status : -22;
        }
        c->error[0] = 0;
        c->detail = 0;
        if (reply) { *reply = p; if (reply_len) *reply_len = size; } else free(p);
        return 0;
    }
}

static xp_client *hello(int fd) {
    xp_client *c = calloc(1, sizeof *c);
    if (!c) { close(fd); return NULL; }
    c->fd = fd;
    c->next_id = 1;
    uint8_t req[16];
    put32(req, XP_MAGIC); put16(req + 4, XP_MAJOR); put16(req + 6, XP_MINOR);
    put64(req + 8, XP_FEATURE_IRQ_EVENTS | XP_FEATURE_SHARED_RAM);
    uint8_t *rep = NULL;
    uint32_t n = 0;
    if (xp_call(c, HELLO, req, sizeof req, &rep, &n) || n < 16 || get32(rep) != XP_MAGIC) {
        fprintf(stderr, "xenpci: HELLO failed: %s\n", c->error);
        free(rep);
        xp_close(c);
        errno = EPROTO;
        return NULL;
    }
    free(rep);
    return c;
}

xp_client *xp_connect_unix(const char *path) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a.sun_path) { errno = ENAMETOOLONG; return NULL; }
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) { close(fd); return NULL; }
    return hello(fd);
}

xp_client *xp_connect_tcp(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) { close(fd); return NULL; }
    return hello(fd);
}

void xp_close(xp_client *c) {
    if (!c) return;
    close(c->fd);
    free(c);
}

const char *xp_error(const xp_client *c) { return c->error; }
int xp_error_detail(const xp_client *c) { return c->detail; }

int xp_take_event(xp_client *c, xp_irq_event *e) {
    if (c->ev_count == 0) return 0;
    *e = c->events[c->ev_head];
    c->ev_head = (c->ev_head + 1) % XP_EVENT_RING;
    c->ev_count--;
    return 1;
}

/* ---- JSON: just enough to walk the server's replies ---- */

static const char *ws(const char *p) {
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    return p;
}

static const char *skip_string(const char *p) { /* p at the opening quote */
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1]) p++;
    }
    return *p ? p + 1 : p;
}

static const char *skip_value(const char *p) {
    p = ws(p);
    if (*p == '"') return skip_string(p);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (*p) {
            if (*p == '"') { p = skip_string(p); continue; }
            if (*p == '{' || *p == '[') depth++;
            if (*p == '}' || *p == ']') { if (--depth == 0) return p + 1; }
            p++;
        }
        return p;
    }
    while (*p && *p != ',' && *p != '}' && *p != ']') p++;
    return p;
}

const char *xp_json_get(const char *o, const char *key) {
    if (!o) return NULL;
    o = ws(o);
    if (*o != '{') return NULL;
    o = ws(o + 1);
    size_t kl = strlen(key);
    while (*o == '"') {
        const char *k = o + 1;
        const char *end = skip_string(o);
        int match = (size_t)(end - 1 - k) == kl && strncmp(k, key, kl) == 0;
        o = ws(end);
        if (*o != ':') return NULL;
        const char *v = ws(o + 1);
        if (match) return v;
        o = ws(skip_value(v));
        if (*o == ',') o = ws(o + 1);
    }
    return NULL;
}

const char *xp_json_index(const char *a, int i) {
    if (!a) return NULL;
    a = ws(a);
    if (*a != '[') return NULL;
    a = ws(a + 1);
    for (int n = 0; *a && *a != ']'; n++) {
        if (n == i) return a;
        a = ws(skip_value(a));
        if (*a == ',') a = ws(a + 1);
    }
    return NULL;
}

uint64_t xp_json_u64(const char *v) {
    if (!v) return 0;
    v = ws(v);
    if (*v == '"') return strtoull(v + 1, NULL, 0);
    return strtoull(v, NULL, 10);
}

static void json_string(const char *v, char *out, size_t cap) {
    size_t n = 0;
    if (!v || *(v = ws(v)) != '"') { if (cap) out[0] = 0; return; }
    for (v++; *v && *v != '"' && n + 1 < cap; v++) {
        if (*v == '\\' && v[1]) {
            v++;
            out[n++] = *v == 'n' ? '\n' : *v == 't' ? '\t' : *v;
        } else {
            out[n++] = *v;
        }
    }
    out[n] = 0;
}

static char *json_escape(const char *s) {
    size_t n = strlen(s);
    char *o = malloc(n * 6 + 3), *q = o;
    if (!o) return NULL;
    *q++ = '"';
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') { *q++ = '\\'; *q++ = (char)ch; }
        else if (ch == '\n') { *q++ = '\\'; *q++ = 'n'; }
        else if (ch < 0x20) q += sprintf(q, "\\u%04x", ch);
        else *q++ = (char)ch;
    }
    *q++ = '"';
    *q = 0;
    return o;
}

/* ---- messages ---- */

static int call_json(xp_client *c, uint16_t type, const char *req, char **reply) {
    uint8_t *r = NULL;
    int rc = xp_call(c, type, req, req ? (uint32_t)strlen(req) : 0, &r, NULL);
    if (rc == 0 && reply) *reply = (char *)r; else free(r);
    return rc;
}

int xp_platform_create(xp_client *c, const char *request_json, char **reply_json) {
    return call_json(c, PLATFORM_CREATE, request_json ? request_json : "{}", reply_json);
}

int xp_guest_create(xp_client *c, const char *xl_cfg, int probe, xp_guest *g) {
    memset(g, 0, sizeof *g);
    char *esc = json_escape(xl_cfg);
    if (!esc) return XP_EIO;
    char *req = malloc(strlen(esc) + 64);
    if (!req) { free(esc); return XP_EIO; }
    sprintf(req, "{\"config\":%s,\"probe\":%s}", esc, probe ? "true" : "false");
    free(esc);
    char *j = NULL;
    int rc = call_json(c, GUEST_CREATE, req, &j);
    free(req);
    if (rc) return rc;
    g->json = j;
    g->domid = (int)xp_json_u64(xp_json_get(j, "domid"));
    g->vcpus = (int)xp_json_u64(xp_json_get(j, "vcpus"));
    const char *ram = xp_json_get(j, "ram");
    const char *b;
    for (int i = 0; i < XP_MAX_BANKS && (b = xp_json_index(ram, i)) != NULL; i++) {
        xp_ram_bank *r = &g->ram[g->nbanks];
        r->gpa = xp_json_u64(xp_json_get(b, "gpa"));
        r->size = xp_json_u64(xp_json_get(b, "size"));
        json_string(xp_json_get(b, "path"), r->path, sizeof r->path);
        int fd = open(r->path, O_RDWR);
        if (fd < 0) { snprintf(c->error, sizeof c->error, "open %s: %s", r->path, strerror(errno)); xp_guest_release(g); return XP_EIO; }
        void *m = mmap(NULL, (size_t)r->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                       (off_t)xp_json_u64(xp_json_get(b, "offset")));
        close(fd);
        if (m == MAP_FAILED) { snprintf(c->error, sizeof c->error, "mmap %s: %s", r->path, strerror(errno)); xp_guest_release(g); return XP_EIO; }
        r->map = m;
        g->nbanks++;
    }
    const char *e = xp_json_index(xp_json_get(j, "ecam"), 0);
    if (e) {
        g->ecam_base = xp_json_u64(xp_json_get(e, "base"));
        g->ecam_size = xp_json_u64(xp_json_get(e, "size"));
        const char *w = xp_json_get(e, "mem32");
        if (w && *w == '{') {
            g->mem32_base = xp_json_u64(xp_json_get(w, "base"));
            g->mem32_size = xp_json_u64(xp_json_get(w, "size"));
        }
    }
    const char *its = xp_json_get(j, "its");
    g->its = its && *its == '"' ? xp_json_u64(its) : 0;
    return 0;
}

void xp_guest_release(xp_guest *g) {
    for (int i = 0; i < g->nbanks; i++) {
        if (g->ram[i].map) munmap(g->ram[i].map, (size_t)g->ram[i].size);
        g->ram[i].map = NULL;
    }
    g->nbanks = 0;
    free(g->json);
    g->json = NULL;
}

void *xp_guest_ram(const xp_guest *g, uint64_t gpa, uint64_t len) {
    for (int i = 0; i < g->nbanks; i++) {
        const xp_ram_bank *r = &g->ram[i];
        if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len) return r->map + (gpa - r->gpa);
    }
    return NULL;
}

static int mmio(xp_client *c, uint16_t type, uint16_t domid, uint16_t vcpu, uint64_t addr, uint8_t width,
                uint64_t data, xp_mmio_result *res) {
    uint8_t req[24] = {0};
    put16(req, domid); put16(req + 2, vcpu); req[4] = width; put64(req + 8, addr); put64(req + 16, data);
    uint8_t *r = NULL;
    uint32_t n = 0;
    int rc = xp_call(c, type, req, type == MMIO_WRITE ? 24 : 16, &r, &n);
    if (rc) return rc;
    memset(res, 0, sizeof *res);
    if (n >= 16) {
        res->aborted = get32(r) == 1;
        res->retryable = (get32(r + 4) & 1) != 0;
        res->data = get64(r + 8);
        if (res->aborted) snprintf(res->reason, sizeof res->reason, "%s", (char *)r + 16);
    }
    free(r);
    return 0;
}

int xp_mmio_read(xp_client *c, uint16_t domid, uint16_t vcpu, uint64_t addr, uint8_t width, xp_mmio_result *r) {
    return mmio(c, MMIO_READ, domid, vcpu, addr, width, 0, r);
}

int xp_mmio_write(xp_client *c, uint16_t domid, uint16_t vcpu, uint64_t addr, uint8_t width, uint64_t data,
                  xp_mmio_result *r) {
    return mmio(c, MMIO_WRITE, domid, vcpu, addr, width, data, r);
}

int xp_hvc(xp_client *c, uint16_t domid, uint16_t vcpu, uint32_t imm, uint64_t x16, uint64_t x[6], int *undefined) {
    uint8_t req[64];
    put16(req, domid); put16(req + 2, vcpu); put32(req + 4, imm); put64(req + 8, x16);
    for (int i = 0; i < 6; i++) put64(req + 16 + 8 * i, x[i]);
    uint8_t *r = NULL;
    uint32_t n = 0;
    int rc = xp_call(c, HVC, req, sizeof req, &r, &n);
    if (rc) return rc;
    if (n >= 56) {
        if (undefined) *undefined = get32(r) == 2;
        for (int i = 0; i < 6; i++) x[i] = get64(r + 8 + 8 * i);
    }
    free(r);
    return 0;
}

int xp_irq_ack(xp_client *c, uint16_t domid, uint16_t vcpu, uint32_t intid, int *acked) {
    uint8_t req[8];
    put16(req, domid); put16(req + 2, vcpu); put32(req + 4, intid);
    uint8_t *r = NULL;
    uint32_t n = 0;
    int rc = xp_call(c, IRQ_ACK, req, sizeof req, &r, &n);
    if (rc == 0 && acked) *acked = n >= 4 && get32(r) == 1;
    free(r);
    return rc;
}

int xp_irq_pending(xp_client *c, uint16_t domid, uint16_t vcpu, uint32_t *intids, int max, int *count) {
    uint8_t req[4];
    put16(req, domid); put16(req + 2, vcpu);
    uint8_t *r = NULL;
    uint32_t n = 0;
    int rc = xp_call(c, IRQ_PENDING, req, sizeof req, &r, &n);
    if (rc) return rc;
    uint32_t k = n >= 4 ? get32(r) : 0;
    for (uint32_t i = 0; i < k && (int)i < max && 4 + 4 * (i + 1) <= n; i++) intids[i] = get32(r + 4 + 4 * i);
    if (count) *count = (int)k;
    free(r);
    return 0;
}

static int domid_call(xp_client *c, uint16_t type, uint16_t domid) {
    uint8_t req[2];
    put16(req, domid);
    return xp_call(c, type, req, sizeof req, NULL, NULL);
}

int xp_pause(xp_client *c, uint16_t domid) { return domid_call(c, PAUSE, domid); }
int xp_unpause(xp_client *c, uint16_t domid) { return domid_call(c, UNPAUSE, domid); }
int xp_destroy(xp_client *c, uint16_t domid) { return domid_call(c, DESTROY, domid); }
int xp_snapshot(xp_client *c, char **json) { return call_json(c, SNAPSHOT, NULL, json); }
int xp_shutdown(xp_client *c) { return xp_call(c, SHUTDOWN, NULL, 0, NULL, NULL); }

int xp_device_signal(xp_client *c, uint16_t seg, uint8_t bus, uint8_t devfn, uint32_t vector, int *result) {
    uint8_t req[8];
    put16(req, seg); req[2] = bus; req[3] = devfn; put32(req + 4, vector);
    uint8_t *r = NULL;
    uint32_t n = 0;
    int rc = xp_call(c, DEVICE_SIGNAL, req, sizeof req, &r, &n);
    if (rc == 0 && result) *result = n >= 4 ? (int)get32(r) : -1;
    free(r);
    return rc;
}
