"""Unit tests of the harness's pieces that need no unicorn: the MMU-enable patch finder, the
FDT reader/writer and the DT edit for U-Boot, the PL011. Run: python3 -m unittest (in this
directory); UbootHarnessUnitTest runs them in the normal test run."""

import os
import struct
import unittest

import fdt
import uboot_harness as H

MRS_X1_CURRENTEL = 0xD5384241
UBFX_W1 = 0x53020C21
CMP_W1_1 = 0x7100043F
B_NE = 0x54000301
MOV_X0_0 = 0xD2800000


def image(*words):
    return struct.pack("<%dI" % len(words), *words)


# U-Boot's set_sctlr(get_sctlr() | CR_M) as gcc inlines it in mmu_setup
SITE = (H.MRS_X0_SCTLR_EL1, H.ORR_W0_W0_1, MRS_X1_CURRENTEL, UBFX_W1, CMP_W1_1, B_NE, H.MSR_SCTLR_EL1_X0)


class MmuPatchTest(unittest.TestCase):
    def test_patches_the_one_site_and_nothing_else(self):
        img = image(H.NOP, H.NOP, *SITE, H.NOP)
        out, off = H.patch_mmu_enable(img)
        self.assertEqual(off, 3 * 4)
        self.assertEqual(struct.unpack_from("<I", out, off)[0], H.NOP)
        self.assertEqual(out[:off] + out[off + 4:], img[:off] + img[off + 4:])

    def test_refuses_an_image_without_the_site(self):
        with self.assertRaisesRegex(H.HarnessError, "found 0"):
            H.patch_mmu_enable(image(H.NOP, H.ORR_W0_W0_1, H.MSR_SCTLR_EL1_X0))  # no mrs before the orr

    def test_refuses_two_sites(self):
        with self.assertRaisesRegex(H.HarnessError, "found 2"):
            H.patch_mmu_enable(image(*SITE, *SITE))

    def test_an_intervening_write_of_x0_breaks_the_context(self):
        broken = list(SITE)
        broken[3] = MOV_X0_0
        with self.assertRaisesRegex(H.HarnessError, "found 0"):
            H.patch_mmu_enable(image(*broken))

    def test_an_msr_too_far_away_is_not_the_site(self):
        far = [H.MRS_X0_SCTLR_EL1, H.ORR_W0_W0_1] + [H.NOP] * 8 + [H.MSR_SCTLR_EL1_X0]
        with self.assertRaisesRegex(H.HarnessError, "found 0"):
            H.patch_mmu_enable(image(*far))

    @unittest.skipUnless(os.path.isfile(H.DEFAULT_UBOOT), "u-boot-qemu not installed")
    def test_debian_u_boot_has_exactly_one_site(self):
        with open(H.DEFAULT_UBOOT, "rb") as f:
            img = f.read()
        out, off = H.patch_mmu_enable(img)
        self.assertEqual(struct.unpack_from("<I", img, off - 4)[0], H.MRS_X0_SCTLR_EL1)
        self.assertEqual(sum(1 for i in range(0, len(img), 4) if img[i:i + 4] != out[i:i + 4]), 1)


def guest_dtb(with_uart=True):
    root = fdt.Node("")
    root.props["#address-cells"] = struct.pack(">I", 2)
    chosen = fdt.Node("chosen")
    chosen.props["rng-seed"] = bytes(8)
    root.children.append(chosen)
    if with_uart:
        uart = fdt.Node("sbsa-pl011")
        uart.set_string("compatible", "arm,sbsa-uart")
        uart.props["reg"] = struct.pack(">4I", 0, H.GUEST_PL011_BASE, 0, H.GUEST_PL011_SIZE)
        root.children.append(uart)
    return fdt.Fdt(root, [(0x1000, 0x2000)]).to_bytes()


class FdtTest(unittest.TestCase):
    def test_round_trip(self):
        blob = guest_dtb()
        t = fdt.Fdt.parse(blob)
        self.assertEqual(t.to_bytes(), blob)
        self.assertEqual(t.reservations, [(0x1000, 0x2000)])
        self.assertEqual(t.node("/sbsa-pl011").cells("reg"), [0, H.GUEST_PL011_BASE, 0, H.GUEST_PL011_SIZE])

    def test_refuses_garbage(self):
        with self.assertRaises(fdt.FdtError):
            fdt.Fdt.parse(b"\0" * 64)
        with self.assertRaises(fdt.FdtError):
            fdt.Fdt.parse(guest_dtb()[:30])

    def test_uboot_dt_makes_the_vuart_a_pl011_chosen_as_stdout(self):
        out, path = H.uboot_dt(guest_dtb())
        t = fdt.Fdt.parse(out)
        self.assertEqual(path, "/sbsa-pl011")
        uart = t.node(path)
        self.assertEqual(uart.props["compatible"], b"arm,pl011\0arm,primecell\0")
        self.assertEqual(uart.props["skip-init"], b"")
        self.assertEqual(t.node("/chosen").string("stdout-path"), "/sbsa-pl011")
        self.assertEqual(t.node("/chosen").props["rng-seed"], bytes(8))  # the rest is untouched
        self.assertEqual(uart.cells("reg"), [0, H.GUEST_PL011_BASE, 0, H.GUEST_PL011_SIZE])

    def test_uboot_dt_refuses_a_guest_without_vuart(self):
        with self.assertRaisesRegex(H.HarnessError, "0 arm,sbsa-uart"):
            H.uboot_dt(guest_dtb(with_uart=False))


class Pl011Test(unittest.TestCase):
    def test_flags_and_receive(self):
        fed = []
        u = H.Pl011(lambda uc: fed.append(1))
        self.assertEqual(u.read(None, 0x18, 4, None), H.Pl011.FR_TXFE | H.Pl011.FR_RXFE)
        self.assertEqual(fed, [1])  # an empty receiver asks the driver for input
        u.rx.extend(b"ab")
        self.assertEqual(u.read(None, 0x18, 4, None), H.Pl011.FR_TXFE)
        self.assertEqual((u.read(None, 0, 4, None), u.read(None, 0, 4, None)), (ord("a"), ord("b")))
        H.Harness.echo = False
        u.write(None, 0, 4, 0x141, None)  # only the data byte is sent
        self.assertEqual(bytes(u.out), b"A")


if __name__ == "__main__":
    unittest.main()
