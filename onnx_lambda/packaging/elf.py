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


_SHT_SYMTAB = 2
_SHT_NOBITS = 8
_SHF_ALLOC = 0x2
_SECTION = "<IIQQQQIIQQ"
_SEGMENT = "<IIQQQQQQ"


def drop_symbol_table(path: Path) -> int:
    """Remove the static symbol table (`.symtab`, `.strtab`) without moving any load segment's alignment.

    GNU strip lays out again a library that patchelf has rewritten and can misalign its segments;
    this cuts the tables' bytes out in a whole number of the largest segment alignment, so every
    later segment keeps its offset modulo its alignment, and moves the section names and headers to
    the end. Returns the bytes saved, 0 when the tables can't be cut out cleanly (nothing changes).
    """
    data = bytearray(path.read_bytes())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ElfError(f"{path} is not a 64-bit little-endian ELF file")
    (phoff, shoff) = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", data, 0x36)
    sections = [list(struct.unpack_from(_SECTION, data, shoff + index * shentsize)) for index in range(shnum)]
    segments = [list(struct.unpack_from(_SEGMENT, data, phoff + index * phentsize)) for index in range(phnum)]
    symtabs = [index for index, section in enumerate(sections) if section[1] == _SHT_SYMTAB]
    if len(symtabs) != 1:
        return 0
    dropped = {symtabs[0], sections[symtabs[0]][6]}
    if shstrndx in dropped or any(sections[index][2] & _SHF_ALLOC for index in dropped):
        return 0
    start = min(sections[index][4] for index in dropped)
    if phoff + phnum * phentsize > start:
        return 0  # the program headers sit after the tables (patchelf can put them there)
    # Non-loaded sections at or after `start` (the section names, notes) move to the end of the file.
    moved = [
        index
        for index, section in enumerate(sections)
        if index not in dropped
        and section[4] >= start
        and not section[2] & _SHF_ALLOC
        and section[1] != _SHT_NOBITS
    ]
    loaded = [segment[2] for segment in segments if segment[5] and segment[2] + segment[5] > start]
    kept = [
        section[4]
        for index, section in enumerate(sections)
        if section[2] & _SHF_ALLOC and section[4] >= start
    ]
    end = min([*loaded, *[offset for offset in kept if offset >= start], len(data)])
    if any(offset < start for offset in loaded):
        return 0  # a segment's bytes run across the tables
    alignment = max([_PAGE, *(segment[7] for segment in segments if segment[0] == _PT_LOAD)])
    cut = (end - start) // alignment * alignment
    if cut == 0:
        return 0
    tail = bytearray()
    body_end = len(data) - cut
    for index in moved:
        section = sections[index]
        tail += data[section[4] : section[4] + section[5]]
        section[4] = body_end + len(tail) - section[5]
    for index in dropped:
        sections[index][4], sections[index][5] = start, 0
    for index, section in enumerate(sections):
        if section[4] >= end and index not in moved and index not in dropped:
            section[4] -= cut
    for segment in segments:
        if segment[2] >= end:
            segment[2] -= cut
    new_shoff = (body_end + len(tail) + 7) // 8 * 8
    tail += bytes(new_shoff - body_end - len(tail))
    for section in sections:
        tail += struct.pack(_SECTION, *section)
    result = data[:start] + bytes(end - start - cut) + data[end:] + tail
    struct.pack_into("<Q", result, 0x28, new_shoff)
    for index, segment in enumerate(segments):
        struct.pack_into(_SEGMENT, result, phoff + index * phentsize, *segment)
    path.write_bytes(bytes(result))
    return len(data) - len(result)
