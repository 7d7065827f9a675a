/*
 * Times Xen's own vpci_read on this machine, for docs/performance.md: the reference the issue-12
 * targets compare with. Built by run.sh against a Xen source tree, exactly as Xen's
 * tools/tests/vpci/Makefile builds its unit test (xen/drivers/vpci/vpci.c with the harness's
 * tools/tests/vpci/emul.h), but with this timing main instead of the harness's tests.
 *
 * What the harness stubs, and so what these figures leave out: its locks are plain stores
 * (emul.h: spin_lock/read_lock), pci_conf_read* are constants (no host bridge, no hardware),
 * and there is no trap (no stage-2 fault, no p2m, no vCPU). They are a floor for Xen's part.
 *
 * Cases, each a median of REPS runs of N accesses, with a raw int[] read in the same run:
 *  - the floor: an int[16] read with the same index arithmetic as xenpci's JMH rawArrayRead;
 *  - vpci_read of one mid-list BAR register (0x18, 4 bytes);
 *  - vpci_read over the 16 header dwords 0x00..0x3c round robin, the access pattern of
 *    xenpci's TrapPathBenchmark.guestReadDefaultTrace (15 header-like registers; 0x28, 0x38 and
 *    0x3c are gaps, read from "hardware");
 *  - the same through vpci_ecam_read after decoding a guest ECAM address (bus 27:20, devfn
 *    19:12, register 11:0), as xen/arch/arm/vpci.c: vpci_mmio_read does.
 */
#include <time.h>

bool vpci_ecam_read(pci_sbdf_t sbdf, unsigned int reg, unsigned int len, unsigned long *data);

static struct vpci vpci;
static struct domain d;
const struct pci_dev test_pdev = { .vpci = &vpci };
static const struct vcpu v = { .domain = &d };
const struct vcpu *current = &v;

static uint32_t read8(const struct pci_dev *p, unsigned int reg, void *data) { return *(uint8_t *)data; }
static uint32_t read16(const struct pci_dev *p, unsigned int reg, void *data) { return *(uint16_t *)data; }
static uint32_t read32(const struct pci_dev *p, unsigned int reg, void *data) { return *(uint32_t *)data; }

static uint32_t store[16];
static int words[16];

#define N 20000000L
#define REPS 9

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void add(uint32_t (*read)(const struct pci_dev *, unsigned int, void *), unsigned int off,
                unsigned int size, int slot)
{
    store[slot] = 0x1b360010u + slot;
    assert(!vpci_add_register(&vpci, read, NULL, off, size, &store[slot]));
}

static double run(int which)
{
    double t[REPS];
    for (int r = 0; r < REPS; r++) {
        unsigned int reg = 0;
        double start = now_ns();
        for (long i = 0; i < N; i++) {
            unsigned long x;
            switch (which) {
            case 0:
                reg = (reg + 1) & 15;
                x = words[reg];
                break;
            case 1:
                x = vpci_read((pci_sbdf_t){ .sbdf = 0 }, 0x18, 4);
                break;
            case 2:
                reg = (reg + 4) & 0x3c;
                x = vpci_read((pci_sbdf_t){ .sbdf = 0 }, reg, 4);
                break;
            default: {
                reg = (reg + 4) & 0x3c;
                unsigned long gpa_offset = reg; /* bus 0, devfn 0 */
                pci_sbdf_t sbdf = { .sbdf = (uint32_t)((gpa_offset >> 12) & 0xffff) };
                vpci_ecam_read(sbdf, gpa_offset & 0xfff, 4, &x);
                break;
            }
            }
            __asm__ volatile("" : : "r"(x)); /* consume the value, as JMH's blackhole does */
        }
        t[r] = (now_ns() - start) / N;
    }
    qsort(t, REPS, sizeof(t[0]), by_value);
    return t[REPS / 2];
}

int main(void)
{
    static const char *const names[] = {
        "raw int[16] read (floor)",
        "vpci_read 0x18 (BAR2, mid-list)",
        "vpci_read header dwords round robin",
        "vpci_ecam_read header dwords round robin",
    };

    INIT_LIST_HEAD(&vpci.handlers);
    spin_lock_init(&vpci.lock);
    int slot = 0;
    add(read16, 0x00, 2, slot++); /* vendor */
    add(read16, 0x02, 2, slot++); /* device */
    add(read16, 0x04, 2, slot++); /* command */
    add(read16, 0x06, 2, slot++); /* status */
    add(read32, 0x08, 4, slot++); /* revision, class */
    add(read32, 0x0c, 4, slot++); /* cache line .. BIST */
    for (int bar = 0; bar < 6; bar++)
        add(read32, 0x10 + 4 * bar, 4, slot++);
    add(read32, 0x2c, 4, slot++); /* subsystem */
    add(read32, 0x30, 4, slot++); /* expansion ROM */
    add(read8, 0x34, 1, slot++);  /* capabilities pointer */
    for (int i = 0; i < 16; i++)
        words[i] = 0x1b360010 + i;

    double floor = 0;
    printf("%-44s %10s %8s\n", "case (median of 9 x 20M)", "ns/op", "x floor");
    for (int c = 0; c < 4; c++) {
        double ns = run(c);
        if (c == 0)
            floor = ns;
        printf("%-44s %10.3f %8.1f\n", names[c], ns, ns / floor);
    }
    return 0;
}
