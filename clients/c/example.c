/*
 * Example driver of `xenpci serve` in C (docs/simulator-protocol.md), playing a guest's vCPU 0:
 *
 *     cc -std=c99 -o example example.c xenpci.c && ./example SOCKET_PATH
 *
 * Creates the default platform and a guest with the e1000e (machine 0000:00:01.0) passed
 * through; reads its vendor/device ID through the guest's ECAM window; places its BARs; sets up
 * the vITS (command queue in the shared guest RAM) and MSI-X entry 0; then, as the test driver,
 * makes the device signal vector 0 and checks that LPI 8192 arrives as an IRQ_EVENT.
 * Prints "example: OK" and exits 0, or exits 1 at the first failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenpci.h"

#define GITS_CTLR 0x0
#define GITS_CBASER 0x80
#define GITS_CWRITER 0x88
#define GITS_CREADR 0x90
#define GITS_TRANSLATER 0x10040
#define FIRST_LPI 8192u

static xp_client *c;
static xp_guest g;

static void check(int ok, const char *what) {
    printf("example: %s%s\n", ok ? "" : "FAILED: ", what);
    if (!ok) exit(1);
}

static uint64_t load(uint64_t addr, uint8_t width) {
    xp_mmio_result r;
    if (xp_mmio_read(c, (uint16_t)g.domid, 0, addr, width, &r) || r.aborted) {
        fprintf(stderr, "load 0x%llx: %s%s\n", (unsigned long long)addr, xp_error(c), r.reason);
        exit(1);
    }
    return r.data;
}

static void store(uint64_t addr, uint8_t width, uint64_t v) {
    xp_mmio_result r;
    if (xp_mmio_write(c, (uint16_t)g.domid, 0, addr, width, v, &r) || r.aborted) {
        fprintf(stderr, "store 0x%llx: %s%s\n", (unsigned long long)addr, xp_error(c), r.reason);
        exit(1);
    }
}

static uint64_t queue;
static uint32_t writer;

static void its_cmd(uint64_t dw0, uint64_t dw1, uint64_t dw2) {
    uint64_t cmd[4] = {dw0, dw1, dw2, 0};
    uint8_t *q = xp_guest_ram(&g, queue + writer, 32);
    check(q != NULL, "ITS command slot in shared RAM");
    for (int i = 0; i < 4; i++) {
        for (int b = 0; b < 8; b++) q[8 * i + b] = (uint8_t)(cmd[i] >> (8 * b)); /* little-endian */
    }
    writer = (writer + 32) % 0x1000;
    store(g.its + GITS_CWRITER, 8, writer);
    check(load(g.its + GITS_CREADR, 8) == writer, "vITS consumed the command");
}

int main(int argc, char **argv) {
    char line[256];
    int rc;
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET_PATH\n", argv[0]);
        return 2;
    }
    c = xp_connect_unix(argv[1]);
    check(c != NULL, "connected");
    rc = xp_platform_create(c, "{\"profile\":\"full\"}", NULL);
    check(rc == 0 || rc == -17 /* EEXIST: a server another driver set up is reused */, "platform ready (full profile)");
    rc = xp_guest_create(c, "name = \"cexample\"\nmemory = 256\nvcpus = 1\npci = [ \"0000:00:01.0\" ]\n", 0, &g);
    if (rc) fprintf(stderr, "GUEST_CREATE: %d %s\n", rc, xp_error(c));
    check(rc == 0 && g.nbanks >= 1 && g.ecam_base && g.its && g.mem32_base, "guest created");

    /* 1. Vendor and device ID of guest 00:00.0 through the ECAM window. */
    uint64_t cfg = g.ecam_base;
    uint32_t ids = (uint32_t)load(cfg, 4);
    snprintf(line, sizeof line, "config read: vendor %04x device %04x", ids & 0xffff, ids >> 16);
    check(ids == 0x10d38086u, line);

    /* 2. Place the memory BARs in the 32-bit window; enable memory and bus mastering. */
    uint64_t next = g.mem32_base, bar[6] = {0};
    for (int i = 0; i < 6; i++) {
        uint64_t reg = cfg + 0x10 + 4 * (uint64_t)i;
        uint32_t orig = (uint32_t)load(reg, 4);
        if (orig & 1) continue; /* I/O */
        int is64 = ((orig >> 1) & 3) == 2;
        store(reg, 4, 0xffffffffu);
        uint64_t mask = load(reg, 4) & ~0xfull;
        uint64_t hi = 0xffffffffu;
        if (is64) { store(reg + 4, 4, 0xffffffffu); hi = load(reg + 4, 4); }
        mask |= hi << 32;
        uint64_t size = ~mask + 1;
        if ((mask & 0xffffffffu) != 0) {
            next = (next + size - 1) & ~(size - 1);
            store(reg, 4, next & 0xffffffffu);
            if (is64) store(reg + 4, 4, next >> 32);
            bar[i] = next;
            next += size;
        }
        if (is64) i++;
    }
    check(next <= g.mem32_base + g.mem32_size, "BARs placed in the 32-bit window");
    store(cfg + 4, 2, load(cfg + 4, 2) | 0x6);

    /* 3. MSI-X capability. */
    uint64_t pos = load(cfg + 0x34, 1) & 0xfc;
    while (pos && load(cfg + pos, 1) != 0x11) pos = load(cfg + pos + 1, 1) & 0xfc;
    check(pos != 0, "MSI-X capability found");
    uint32_t table_reg = (uint32_t)load(cfg + pos + 4, 4);
    uint64_t table = bar[table_reg & 7] + (table_reg & ~7u);

    /* 4. vITS: queue in guest RAM, collection 0 -> vCPU 0, device 0 event 0 -> LPI 8192. */
    queue = g.ram[0].gpa + 0x100000;
    uint64_t itt = queue + 0x1000;
    store(g.its + GITS_CTLR, 4, 0);
    store(g.its + GITS_CBASER, 8, 1ull << 63 | queue);
    store(g.its + GITS_CWRITER, 8, 0);
    store(g.its + GITS_CTLR, 4, 1);
    its_cmd(0x09, 0, 1ull << 63);                       /* MAPC ICID 0 -> RDbase 0 */
    its_cmd(0x08, 0, 1ull << 63 | itt);                 /* MAPD device 0, 2 events */
    its_cmd(0x0a, (uint64_t)FIRST_LPI << 32, 0);        /* MAPTI event 0 -> LPI 8192, ICID 0 */
    its_cmd(0x05, 0, 0);                                /* SYNC */

    /* 5. MSI-X entry 0 -> doorbell, EventID 0, unmasked; MSI-X enabled. */
    uint16_t ctrl = (uint16_t)load(cfg + pos + 2, 2);
    store(cfg + pos + 2, 2, (ctrl & ~0xc000u) | 0xc000u);
    uint64_t doorbell = g.its + GITS_TRANSLATER;
    store(table, 4, doorbell & 0xffffffffu);
    store(table + 4, 4, doorbell >> 32);
    store(table + 8, 4, 0);
    store(table + 12, 4, 0);
    store(cfg + pos + 2, 2, (ctrl & ~0xc000u) | 0x8000u);
    check(1, "MSI-X entry 0 programmed");

    /* 6. Test driver: the device fires vector 0; the LPI arrives as an event. */
    int result = -1;
    check(xp_device_signal(c, 0, 0, 1 << 3 | 0, 0, &result) == 0 && result == 0, "DEVICE_SIGNAL: SENT");
    xp_irq_event e;
    int seen = 0;
    while (xp_take_event(c, &e)) seen |= e.domid == g.domid && e.vcpu == 0 && e.intid == FIRST_LPI;
    check(seen, "IRQ_EVENT: LPI 8192 pending on vCPU 0");
    int acked = 0;
    check(xp_irq_ack(c, (uint16_t)g.domid, 0, FIRST_LPI, &acked) == 0 && acked, "IRQ_ACK");

    /* 7. Shared RAM both ways. */
    uint8_t *p = xp_guest_ram(&g, g.ram[0].gpa + 0x200000, 8);
    memcpy(p, "\x88\x77\x66\x55\x44\x33\x22\x11", 8);
    check(load(g.ram[0].gpa + 0x200000, 8) == 0x1122334455667788ull, "RAM store seen by xenpci");

    check(xp_destroy(c, (uint16_t)g.domid) == 0, "guest destroyed");
    xp_guest_release(&g);
    xp_close(c);
    printf("example: OK\n");
    return 0;
}
