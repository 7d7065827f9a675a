package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("ConfigSpace: storage, masks and the two write paths")
class ConfigSpaceTest {

    private static ConfigSpace filled() {
        ConfigSpace cs = new ConfigSpace();
        cs.setInternal(0x40, 4, 0x44332211);
        cs.setInternal(0x44, 4, 0x88776655);
        return cs;
    }

    @Test
    @DisplayName("byte, word and dword reads at any offset inside a dword are little-endian")
    void readsInsideDword() {
        ConfigSpace cs = filled();
        assertThat(cs.read(0x40, 4)).isEqualTo(0x44332211);
        assertThat(cs.read(0x41, 1)).isEqualTo(0x22);
        assertThat(cs.read(0x42, 2)).isEqualTo(0x4433);
        assertThat(cs.read(0x41, 2)).isEqualTo(0x3322);
        assertThat(cs.read(0x43, 1)).isEqualTo(0x44);
    }

    @Test
    @DisplayName("a read crossing a dword boundary is assembled byte by byte")
    void readAcrossDword() {
        ConfigSpace cs = filled();
        assertThat(cs.read(0x42, 4)).isEqualTo(0x66554433);
        assertThat(cs.read(0x43, 2)).isEqualTo(0x5544);
    }

    @Test
    @DisplayName("with no declarations every bit is read-only to software but the internal path writes")
    void undeclaredIsReadOnly() {
        ConfigSpace cs = filled();
        cs.write(0x40, 4, 0xffffffff);
        assertThat(cs.read(0x40, 4)).isEqualTo(0x44332211);
        cs.setInternal(0x41, 2, 0xbeef);
        assertThat(cs.read(0x40, 4)).isEqualTo(0x44beef11);
        cs.setBits(0x40, 1, 0x80);
        cs.clearBits(0x42, 2, 0x4400);
        assertThat(cs.read(0x40, 4)).isEqualTo(0x00beef91);
    }

    @Test
    @DisplayName("RW bits take the value, RW1C bits clear where 1 is written, RO bits stay")
    void masksApply() {
        ConfigSpace cs = new ConfigSpace();
        new ConfigLayout(cs).word(0x40, "CTRL")
                .field(0, 4, "RW", AccessMode.RW)
                .field(4, 4, "W1C", AccessMode.RW1C)
                .field(8, 4, "RO", AccessMode.RO);
        cs.setInternal(0x40, 2, 0x0af5);
        cs.write(0x40, 2, 0x0f3a);
        // RW 5 -> a; W1C f & ~3 = c; RO a stays.
        assertThat(cs.read(0x40, 2)).isEqualTo(0x0aca);
        assertThat(cs.writableMask(0x40)).isEqualTo(0x0000000f);
        assertThat(cs.rw1cMask(0x41)).isEqualTo(0x000000f0);
    }

    @Test
    @DisplayName("a byte write only touches its byte lane")
    void byteLane() {
        ConfigSpace cs = new ConfigSpace();
        new ConfigLayout(cs).dword(0x40, "D").all(AccessMode.RW);
        cs.write(0x40, 4, 0x11223344);
        cs.write(0x42, 1, 0xab);
        assertThat(cs.read(0x40, 4)).isEqualTo(0x11ab3344);
        cs.write(0x43, 2, 0xcdef); // crosses into 0x44: split per byte
        assertThat(cs.read(0x40, 4)).isEqualTo(0xefab3344);
        assertThat(cs.read(0x44, 1)).isEqualTo(0x00);
    }

    @Test
    @DisplayName("RSVDZ bits read zero even if the image had them set")
    void rsvdzReadsZero() {
        ConfigSpace cs = new ConfigSpace();
        cs.setInternal(0x40, 1, 0xff);
        new ConfigLayout(cs).byteRegister(0x40, "R").field(0, 4, "LOW", AccessMode.RW).field(4, 4, "RSVD", AccessMode.RSVDZ);
        assertThat(cs.read(0x40, 1)).isEqualTo(0x0f);
        cs.write(0x40, 1, 0xf3);
        assertThat(cs.read(0x40, 1)).isEqualTo(0x03);
    }

    @Test
    @DisplayName("onChange reports the old and new field value only when software changes it")
    void onChangeFires() {
        ConfigSpace cs = new ConfigSpace();
        List<String> seen = new ArrayList<>();
        new ConfigLayout(cs).word(0x04, "COMMAND")
                .field(1, "MEMORY", AccessMode.RW).onChange((o, n) -> seen.add(o + "->" + n))
                .field(2, "MASTER", AccessMode.RW);
        cs.write(0x04, 2, 0x0004);
        cs.write(0x04, 2, 0x0006);
        cs.write(0x04, 2, 0x0002);
        cs.setInternal(0x04, 2, 0x0000);
        cs.write(0x04, 1, 0x02);
        assertThat(seen).containsExactly("0->1", "0->1");
    }

    @Test
    @DisplayName("tagged bits stay read-only when software writes them")
    void taggedIsReadOnly() {
        ConfigSpace cs = new ConfigSpace();
        new ConfigLayout(cs).byteRegister(0x0f, "BIST").tagged("BIST");
        cs.write(0x0c, 4, 0xffffffff);
        cs.write(0x0f, 1, 0x40);
        assertThat(cs.read(0x0c, 4)).isEqualTo(0);
    }

    @Test
    @DisplayName("overlapping fields, misaligned registers and bad access sizes are programming errors")
    void misuseThrows() {
        ConfigSpace cs = new ConfigSpace();
        ConfigLayout layout = new ConfigLayout(cs);
        layout.word(0x40, "A").field(0, 8, "X", AccessMode.RW);
        assertThatThrownBy(() -> layout.byteRegister(0x40, "B").field(7, "Y", AccessMode.RW))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("overlaps A.X");
        assertThatThrownBy(() -> layout.dword(0x42, "C")).hasMessageContaining("4-byte aligned");
        assertThatThrownBy(() -> cs.read(0, 3)).hasMessageContaining("1, 2 or 4");
        assertThatThrownBy(() -> cs.read(0xffe, 4)).hasMessageContaining("0xffe+4");
        assertThatThrownBy(() -> new ConfigSpace(new byte[100])).isInstanceOf(HardwareConfigException.class)
                .hasMessageContaining("100");
    }

    @Test
    @DisplayName("toBytes returns the 4096 bytes as stored")
    void snapshot() {
        ConfigSpace cs = filled();
        byte[] b = cs.toBytes();
        assertThat(b).hasSize(4096);
        assertThat(b[0x40]).isEqualTo((byte) 0x11);
        assertThat(b[0x47]).isEqualTo((byte) 0x88);
        assertThat(new ConfigSpace(b).read(0x44, 4)).isEqualTo(0x88776655);
    }

    @Test
    @DisplayName("a read racing the model's byte-by-byte dword writes sees the whole old or the whole new dword, never a mix")
    void unlockedReadNeverSeesAHalfWrittenDword() throws Exception {
        ConfigSpace cs = new ConfigSpace();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong writes = new java.util.concurrent.atomic.AtomicLong();
        Thread writer = new Thread(() -> {
            for (int k = 0; !stop.get(); k++) {
                cs.setInternal(0x40, 4, (k & 1) == 0 ? 0xffff_ffff : 0); // four byte stores inside
                writes.lazySet(k);
            }
        }, "model");
        writer.start();
        List<Integer> torn = new ArrayList<>();
        try {
            long end = System.nanoTime() + 300_000_000L;
            while (writes.get() < 1000) {
                Thread.onSpinWait();
            }
            while (System.nanoTime() < end && torn.size() < 3) {
                int v = cs.read(0x40, 4);
                if (v != 0 && v != 0xffff_ffff) {
                    torn.add(v);
                }
            }
        } finally {
            stop.set(true);
            writer.join(10_000);
        }
        assertThat(torn).isEmpty();
    }

    @Test
    @DisplayName("a compound change under the lock (as a function reset makes) is seen by reads all at once")
    void compoundChangeIsAtomicToReads() throws Exception {
        ConfigSpace cs = new ConfigSpace();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong writes = new java.util.concurrent.atomic.AtomicLong();
        Thread writer = new Thread(() -> {
            for (int k = 1; !stop.get(); k++) {
                writes.lazySet(k);
                synchronized (cs) {
                    cs.beginWrite();
                    try {
                        cs.setInternal(0x40, 4, k); // first A, then B: B lags A only inside the change
                        cs.setInternal(0x80, 4, k);
                    } finally {
                        cs.endWrite();
                    }
                }
            }
        }, "reset");
        writer.start();
        List<String> seen = new ArrayList<>();
        try {
            long end = System.nanoTime() + 300_000_000L;
            while (writes.get() < 1000) {
                Thread.onSpinWait();
            }
            while (System.nanoTime() < end && seen.size() < 3) {
                int a = cs.read(0x40, 4);
                int b = cs.read(0x80, 4);
                if (Integer.compareUnsigned(b, a) < 0) {
                    seen.add("A=" + a + " then B=" + b);
                }
            }
        } finally {
            stop.set(true);
            writer.join(10_000);
        }
        assertThat(seen).as("a read saw a change half applied").isEmpty();
    }
}
