/*
 * C client of the xenpci simulator protocol 1.0 (docs/simulator-protocol.md).
 * C99 + POSIX (sockets, mmap); no other dependencies. One xp_client is one connection and one
 * driver: not thread-safe, use one per thread.
 *
 * Every function returning int returns 0 on success, a negative Xen errno the server replied
 * with (see xp_error for its message), or XP_EIO (-5) when the connection failed.
 */
#ifndef XENPCI_H
#define XENPCI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XP_MAJOR 1
#define XP_MINOR 0
#define XP_FEATURE_IRQ_EVENTS (1ULL << 0)
#define XP_FEATURE_SHARED_RAM (1ULL << 1)
#define XP_XEN_HYPERCALL_TAG 0xEA1u
#define XP_EIO (-5)
#define XP_MAX_BANKS 4

typedef struct xp_client xp_client;

/* An IRQ_EVENT: intid became pending on vcpu of domid. */
typedef struct {
    uint16_t domid;
    uint16_t vcpu;
    uint32_t intid;
} xp_irq_event;

/* One guest RAM bank, mapped MAP_SHARED from the server's file. */
typedef struct {
    uint64_t gpa;
    uint64_t size;
    char path[512];
    uint8_t *map;
} xp_ram_bank;

/* What GUEST_CREATE returned (the first vPCI host bridge node of the guest DT). */
typedef struct {
    int domid;
    int vcpus;
    int nbanks;
    xp_ram_bank ram[XP_MAX_BANKS];
    uint64_t ecam_base, ecam_size;
    uint64_t mem32_base, mem32_size; /* 0 if the node has no 32-bit MEM window */
    uint64_t its;                    /* 0 if the guest has no vITS */
    char *json;                      /* the whole reply (malloc'd) */
} xp_guest;

/* An MMIO access's outcome: data, or a data abort with its reason. */
typedef struct {
    int aborted;
    int retryable;
    uint64_t data;
    char reason[128];
} xp_mmio_result;

/* Connects and says HELLO (asking for IRQ events). NULL on failure (errno set). */
xp_client *xp_connect_unix(const char *path);
xp_client *xp_connect_tcp(int port);
/* Unmaps nothing (release guests with xp_guest_release), closes the connection. */
void xp_close(xp_client *c);

/* The message of the last error reply (or connection failure); "" if none. */
const char *xp_error(const xp_client *c);
/* The detail (libxl error code or 0) of the last error reply. */
int xp_error_detail(const xp_client *c);

/* One raw request; *reply (malloc'd, NUL-terminated beyond *reply_len) is the payload. */
int xp_call(xp_client *c, uint16_t type, const void *payload, uint32_t len, uint8_t **reply, uint32_t *reply_len);

/* PLATFORM_CREATE with request JSON (NULL: {}); *reply_json may be NULL, else free() it. */
int xp_platform_create(xp_client *c, const char *request_json, char **reply_json);
/* GUEST_CREATE of xl.cfg text; maps the RAM banks. */
int xp_guest_create(xp_client *c, const char *xl_cfg, int probe, xp_guest *g);
/* Unmaps the banks and frees the JSON (the guest itself lives on: xp_destroy). */
void xp_guest_release(xp_guest *g);
/* A pointer into the shared RAM for [gpa, gpa+len), or NULL if not inside one bank. */
void *xp_guest_ram(const xp_guest *g, uint64_t gpa, uint64_t len);

int xp_mmio_read(xp_client *c, uint16_t domid, uint16_t vcpu, uint64_t addr, uint8_t width, xp_mmio_result *r);
int xp_mmio_write(xp_client *c, uint16_t domid, uint16_t vcpu, uint64_t addr, uint8_t width, uint64_t data,
                  xp_mmio_result *r);
/* HVC #imm with x16 and x[0..5]; on return x[0..5] hold the registers after the call. */
int xp_hvc(xp_client *c, uint16_t domid, uint16_t vcpu, uint32_t imm, uint64_t x16, uint64_t x[6], int *undefined);
int xp_irq_ack(xp_client *c, uint16_t domid, uint16_t vcpu, uint32_t intid, int *acked);
/* Up to max pending INTIDs into intids; *count is how many are pending in all. */
int xp_irq_pending(xp_client *c, uint16_t domid, uint16_t vcpu, uint32_t *intids, int max, int *count);
/* Takes the oldest IRQ_EVENT received so far: 1 if there was one, else 0. */
int xp_take_event(xp_client *c, xp_irq_event *e);

int xp_pause(xp_client *c, uint16_t domid);
int xp_unpause(xp_client *c, uint16_t domid);
int xp_destroy(xp_client *c, uint16_t domid);
/* SNAPSHOT; free() *json. */
int xp_snapshot(xp_client *c, char **json);
/* Test driver: the function at machine seg:bus:devfn signals vector; *result 0 = SENT, ... */
int xp_device_signal(xp_client *c, uint16_t seg, uint8_t bus, uint8_t devfn, uint32_t vector, int *result);
int xp_shutdown(xp_client *c);

/* Minimal JSON helpers over the server's replies: the value of key in the object at json
 * (members at the object's own level only); NULL if absent. */
const char *xp_json_get(const char *object, const char *key);
/* The i-th element of the array at json; NULL past the end. */
const char *xp_json_index(const char *array, int i);
/* A number, or a "0x..." string, at json. */
uint64_t xp_json_u64(const char *value);

#ifdef __cplusplus
}
#endif
#endif
