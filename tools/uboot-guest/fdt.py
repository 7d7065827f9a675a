"""A minimal flattened device tree (DTB) reader and writer, stdlib only.

Just enough for the U-Boot harness to edit the guest DT that `xenpci create` (libxl's
libxl__prepare_dtb) produces before it is placed at the start of guest RAM: find a node,
set a property, serialise again. Format: the Devicetree Specification's "Flattened
Devicetree (DTB) Format" chapter (header, memory reservation block, structure block of
FDT_BEGIN_NODE/FDT_PROP/FDT_END_NODE tokens, strings block); version 17 is written.
"""

import struct

FDT_MAGIC = 0xD00DFEED
FDT_BEGIN_NODE = 1
FDT_END_NODE = 2
FDT_PROP = 3
FDT_NOP = 4
FDT_END = 9


class FdtError(ValueError):
    """The blob is not a well-formed DTB, or a path names no node."""


class Node:
    """One node: its name (with unit address), properties in order, children in order."""

    def __init__(self, name):
        self.name = name
        self.props = {}  # name -> bytes, insertion-ordered
        self.children = []

    def child(self, name):
        for c in self.children:
            if c.name == name:
                return c
        return None

    def set_string(self, prop, *values):
        self.props[prop] = b"".join(v.encode("ascii") + b"\0" for v in values)

    def set_empty(self, prop):
        self.props[prop] = b""

    def string(self, prop):
        v = self.props.get(prop)
        return None if v is None else v.rstrip(b"\0").split(b"\0")[0].decode("ascii")

    def cells(self, prop):
        v = self.props.get(prop, b"")
        return list(struct.unpack(">%dI" % (len(v) // 4), v[: len(v) // 4 * 4]))


class Fdt:
    def __init__(self, root, reservations=(), boot_cpuid=0):
        self.root = root
        self.reservations = list(reservations)
        self.boot_cpuid = boot_cpuid

    @staticmethod
    def parse(blob):
        if len(blob) < 40:
            raise FdtError("DTB shorter than its 40-byte header")
        (magic, total, off_struct, off_strings, off_rsv, version, _last, boot_cpuid,
         size_strings, size_struct) = struct.unpack_from(">10I", blob, 0)
        if magic != FDT_MAGIC:
            raise FdtError("bad DTB magic 0x%08x" % magic)
        if total > len(blob) or version < 16:
            raise FdtError("DTB truncated or version %d < 16" % version)
        strings = blob[off_strings: off_strings + size_strings]
        rsv = []
        p = off_rsv
        while True:
            addr, size = struct.unpack_from(">QQ", blob, p)
            p += 16
            if addr == 0 and size == 0:
                break
            rsv.append((addr, size))
        p = off_struct
        end = off_struct + size_struct
        stack = []
        root = None
        while p < end:
            (tok,) = struct.unpack_from(">I", blob, p)
            p += 4
            if tok == FDT_BEGIN_NODE:
                z = blob.index(b"\0", p)
                node = Node(blob[p:z].decode("ascii"))
                p = (z + 1 + 3) & ~3
                if stack:
                    stack[-1].children.append(node)
                elif root is None:
                    root = node
                else:
                    raise FdtError("second root node")
                stack.append(node)
            elif tok == FDT_END_NODE:
                if not stack:
                    raise FdtError("unbalanced FDT_END_NODE")
                stack.pop()
            elif tok == FDT_PROP:
                length, nameoff = struct.unpack_from(">II", blob, p)
                p += 8
                z = strings.index(b"\0", nameoff)
                if not stack:
                    raise FdtError("property outside a node")
                stack[-1].props[strings[nameoff:z].decode("ascii")] = bytes(blob[p: p + length])
                p = (p + length + 3) & ~3
            elif tok == FDT_NOP:
                continue
            elif tok == FDT_END:
                break
            else:
                raise FdtError("bad structure token %d at 0x%x" % (tok, p - 4))
        if root is None or stack:
            raise FdtError("structure block has no complete root node")
        return Fdt(root, rsv, boot_cpuid)

    def node(self, path):
        """The node at an absolute path such as '/chosen'; FdtError if there is none."""
        n = self.root
        for part in [x for x in path.split("/") if x]:
            n = n.child(part)
            if n is None:
                raise FdtError("no node " + path)
        return n

    def find_compatible(self, compatible):
        """Absolute paths of the nodes whose compatible list holds `compatible`."""
        out = []

        def walk(n, path):
            comp = n.props.get("compatible", b"").split(b"\0")
            if compatible.encode("ascii") in comp:
                out.append(path or "/")
            for c in n.children:
                walk(c, path + "/" + c.name)

        walk(self.root, "")
        return out

    def to_bytes(self):
        strings = bytearray()
        offsets = {}
        struct_blk = bytearray()

        def name_off(name):
            if name not in offsets:
                offsets[name] = len(strings)
                strings.extend(name.encode("ascii") + b"\0")
            return offsets[name]

        def pad():
            while len(struct_blk) % 4:
                struct_blk.append(0)

        def emit(n):
            struct_blk.extend(struct.pack(">I", FDT_BEGIN_NODE))
            struct_blk.extend(n.name.encode("ascii") + b"\0")
            pad()
            for k, v in n.props.items():
                struct_blk.extend(struct.pack(">III", FDT_PROP, len(v), name_off(k)))
                struct_blk.extend(v)
                pad()
            for c in n.children:
                emit(c)
            struct_blk.extend(struct.pack(">I", FDT_END_NODE))

        emit(self.root)
        struct_blk.extend(struct.pack(">I", FDT_END))
        rsv = b"".join(struct.pack(">QQ", a, s) for a, s in self.reservations) + bytes(16)
        off_rsv = 40
        off_struct = off_rsv + len(rsv)
        off_strings = off_struct + len(struct_blk)
        total = off_strings + len(strings)
        header = struct.pack(">10I", FDT_MAGIC, total, off_struct, off_strings, off_rsv, 17, 16,
                             self.boot_cpuid, len(strings), len(struct_blk))
        return header + rsv + bytes(struct_blk) + bytes(strings)
