package org.xenpci.libxl.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.xenpci.armpci.Physdev;
import org.xenpci.armpci.its.ItsRegs;
import org.xenpci.core.Hex;
import org.xenpci.core.Xen;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.Events;
import org.xenpci.core.trace.TraceEvent;

/**
 * {@code trace.jsonl}, format version {@value #VERSION}: one JSON object per trace event, oldest
 * first. Each object has {@code "type"} (the event record's simple name, e.g.
 * {@code "PdevAssigned"}), {@code "category"} (its TraceCategory), then every record component
 * by name. Opcodes are Xen's names ({@code __HYPERVISOR_domctl}, {@code XEN_DOMCTL_assign_device},
 * {@code PHYSDEVOP_pci_device_add}, {@code GITS_CMD_MAPD}); addresses, frame numbers, register
 * offsets and values, stream and device IDs are {@code 0x} hex strings; packed SBDFs are
 * {@code "ssss:bb:dd.f"}; other numbers are JSON integers. Documented in docs/cli-toolstack.md.
 */
final class TraceJsonl {
    /** The format version documented in docs/cli-toolstack.md; summary.json carries it. */
    static final int VERSION = 3;

    private static final ObjectMapper M = new ObjectMapper();

    /**
     * Components printed as hex strings, by name: what Xen's own messages print in hex
     * (addresses, frames, register offsets and values, MSI data, stream and ITS device IDs).
     */
    private static final Set<String> HEX = Set.of("gpa", "maddr", "gfn", "mfn", "iova", "address", "itsBase",
            "ecamBase", "ecamSize", "first", "value", "reg", "data", "smr", "s2cr", "sid", "deviceId");

    /** Components holding a packed {@code seg << 16 | bus << 8 | devfn} SBDF. */
    private static final Set<String> PACKED_SBDF = Set.of("sbdf", "guestSbdf");

    /** Hypercall numbers the model dispatches (xen/include/public/xen.h). */
    private static final Map<Integer, String> HYPERCALLS = Map.of(
            Xen.HYPERVISOR_PHYSDEV_OP, "__HYPERVISOR_physdev_op",
            Xen.HYPERVISOR_DOMCTL, "__HYPERVISOR_domctl");

    /** PHYSDEVOP numbers (xen/include/public/physdev.h). */
    private static final Map<Long, String> PHYSDEVOPS = Map.ofEntries(
            Map.entry((long) Physdev.MANAGE_PCI_ADD, "PHYSDEVOP_manage_pci_add"),
            Map.entry((long) Physdev.MANAGE_PCI_REMOVE, "PHYSDEVOP_manage_pci_remove"),
            Map.entry((long) Physdev.RESTORE_MSI, "PHYSDEVOP_restore_msi"),
            Map.entry((long) Physdev.MANAGE_PCI_ADD_EXT, "PHYSDEVOP_manage_pci_add_ext"),
            Map.entry((long) Physdev.PCI_MMCFG_RESERVED, "PHYSDEVOP_pci_mmcfg_reserved"),
            Map.entry((long) Physdev.PCI_DEVICE_ADD, "PHYSDEVOP_pci_device_add"),
            Map.entry((long) Physdev.PCI_DEVICE_REMOVE, "PHYSDEVOP_pci_device_remove"),
            Map.entry((long) Physdev.RESTORE_MSI_EXT, "PHYSDEVOP_restore_msi_ext"),
            Map.entry((long) Physdev.PREPARE_MSIX, "PHYSDEVOP_prepare_msix"),
            Map.entry((long) Physdev.RELEASE_MSIX, "PHYSDEVOP_release_msix"),
            Map.entry((long) Physdev.PCI_DEVICE_RESET, "PHYSDEVOP_pci_device_reset"));

    /** The domctls the model registers (xen/include/public/domctl.h). */
    private static final Map<Long, String> DOMCTLS = Map.of(
            (long) Xen.XEN_DOMCTL_ASSIGN_DEVICE, "XEN_DOMCTL_assign_device",
            (long) Xen.XEN_DOMCTL_TEST_ASSIGN_DEVICE, "XEN_DOMCTL_test_assign_device",
            (long) Xen.XEN_DOMCTL_DEASSIGN_DEVICE, "XEN_DOMCTL_deassign_device");

    /** ITS command numbers (xen/arch/arm/include/asm/gic_v3_its.h). */
    private static final Map<Integer, String> ITS_COMMANDS = Map.ofEntries(
            Map.entry(ItsRegs.GITS_CMD_MOVI, "GITS_CMD_MOVI"), Map.entry(ItsRegs.GITS_CMD_INT, "GITS_CMD_INT"),
            Map.entry(ItsRegs.GITS_CMD_CLEAR, "GITS_CMD_CLEAR"), Map.entry(ItsRegs.GITS_CMD_SYNC, "GITS_CMD_SYNC"),
            Map.entry(ItsRegs.GITS_CMD_MAPD, "GITS_CMD_MAPD"), Map.entry(ItsRegs.GITS_CMD_MAPC, "GITS_CMD_MAPC"),
            Map.entry(ItsRegs.GITS_CMD_MAPTI, "GITS_CMD_MAPTI"), Map.entry(ItsRegs.GITS_CMD_MAPI, "GITS_CMD_MAPI"),
            Map.entry(ItsRegs.GITS_CMD_INV, "GITS_CMD_INV"), Map.entry(ItsRegs.GITS_CMD_INVALL, "GITS_CMD_INVALL"),
            Map.entry(ItsRegs.GITS_CMD_MOVALL, "GITS_CMD_MOVALL"),
            Map.entry(ItsRegs.GITS_CMD_DISCARD, "GITS_CMD_DISCARD"));

    private TraceJsonl() {
    }

    static String write(List<TraceEvent> events) {
        StringBuilder b = new StringBuilder();
        for (TraceEvent e : events) {
            b.append(line(e).toString()).append('\n');
        }
        return b.toString();
    }

    static ObjectNode line(TraceEvent e) {
        ObjectNode o = M.createObjectNode();
        o.put("type", e.getClass().getSimpleName());
        o.put("category", e.category().name());
        RecordComponent[] rc = e.getClass().getRecordComponents();
        if (rc == null) {
            o.put("text", e.toString());
            return o;
        }
        for (RecordComponent c : rc) {
            Object v;
            try {
                v = c.getAccessor().invoke(e);
            } catch (ReflectiveOperationException | RuntimeException ex) {
                v = "?";
            }
            String n = c.getName();
            if (e instanceof Events.Hypercall h && (n.equals("op") || n.equals("cmd"))) {
                putHypercall(o, h, n);
            } else if (n.equals("opcode") && v instanceof Integer op) {
                o.put(n, ITS_COMMANDS.getOrDefault(op, Hex.of(op)));
            } else if (PACKED_SBDF.contains(n) && v instanceof Integer packed) {
                o.put(n, Sbdf.fromPacked(packed).toString());
            } else if (HEX.contains(n) && (v instanceof Integer || v instanceof Long)) {
                o.put(n, v instanceof Integer i ? Hex.of(i) : Hex.of((Long) v));
            } else {
                put(o, n, v);
            }
        }
        return o;
    }

    /** {@code op} by hypercall name, {@code cmd} by its sub-op's name, null where there is none. */
    private static void putHypercall(ObjectNode o, Events.Hypercall h, String n) {
        if (n.equals("op")) {
            o.put(n, HYPERCALLS.getOrDefault(h.op(), Integer.toString(h.op())));
            return;
        }
        Map<Long, String> names = h.op() == Xen.HYPERVISOR_PHYSDEV_OP ? PHYSDEVOPS
                : h.op() == Xen.HYPERVISOR_DOMCTL ? DOMCTLS : Map.of();
        if (h.cmd() == -1) {
            o.putNull(n);
        } else {
            o.put(n, names.getOrDefault(h.cmd(), Long.toString(h.cmd())));
        }
    }

    private static void put(ObjectNode o, String n, Object v) {
        if (v == null) {
            o.putNull(n);
        } else if (v instanceof Integer) {
            o.put(n, (Integer) v);
        } else if (v instanceof Long) {
            o.put(n, (Long) v);
        } else if (v instanceof Short || v instanceof Byte) {
            o.put(n, ((Number) v).intValue());
        } else if (v instanceof Boolean) {
            o.put(n, (Boolean) v);
        } else if (v instanceof Enum) {
            o.put(n, ((Enum<?>) v).name());
        } else {
            o.put(n, v.toString());
        }
    }
}
