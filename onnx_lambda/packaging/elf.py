"""The shared libraries an ELF object names as DT_NEEDED, read without `ldd` (which can't read arm64 here)."""

from __future__ import annotations

import struct
from pathlib import Path

_SHT_DYNAMIC = 6
_DT_NULL = 0
_DT_NEEDED = 1


class ElfError(ValueError):
    """The file is not a 64-bit little-endian ELF object with a dynamic section."""


def needed_libraries(path: Path) -> list[str]:
    """The DT_NEEDED entries of a 64-bit little-endian shared object, in file order."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ElfError(f"{path} is not a 64-bit little-endian ELF file")
    (section_offset,) = struct.unpack_from("<Q", data, 0x28)
    entry_size, count = struct.unpack_from("<HH", data, 0x3A)
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, section_offset + index * entry_size) for index in range(count)
    ]
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, _entsize in sections:
        if kind != _SHT_DYNAMIC:
            continue
        strings_offset = sections[link][4]
        needed = []
        for position in range(offset, offset + size, 16):
            tag, value = struct.unpack_from("<qQ", data, position)
            if tag == _DT_NULL:
                break
            if tag == _DT_NEEDED:
                start = strings_offset + value
                needed.append(data[start : data.index(b"\0", start)].decode())
        return needed
    raise ElfError(f"{path} has no dynamic section")


_PT_LOAD = 1
_PAGE = 4096  # the smallest page size of Lambda's x86_64 and arm64 kernels


def misaligned_segments(path: Path) -> list[int]:
    """Indexes of PT_LOAD segments whose file offset and address disagree modulo their alignment.

    glibc refuses to map such an object ("ELF load command address/offset not page-aligned"):
    it is what `strip` makes of a library that patchelf (auditwheel) rewrote.
    """
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ElfError(f"{path} is not a 64-bit little-endian ELF file")
    (header_offset,) = struct.unpack_from("<Q", data, 0x20)
    entry_size, count = struct.unpack_from("<HH", data, 0x36)
    misaligned = []
    for index in range(count):
        kind, _flags, offset, address, _physical, _file_size, _memory_size, align = struct.unpack_from(
            "<IIQQQQQQ", data, header_offset + index * entry_size
        )
        if kind == _PT_LOAD and (address - offset) % max(align, _PAGE) != 0:
            misaligned.append(index)
    return misaligned
