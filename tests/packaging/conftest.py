"""Fixtures for the packaging tests: a tiny ELF shared object, and the one real build they share."""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

_SHT_STRTAB = 3
_SHT_DYNAMIC = 6


def write_shared_object(path: Path, needed: Sequence[str]) -> Path:
    """A minimal 64-bit little-endian ELF whose dynamic section names `needed` as DT_NEEDED."""
    strings = b"\0"
    offsets = []
    for name in needed:
        offsets.append(len(strings))
        strings += name.encode() + b"\0"
    strings_at = 64
    dynamic_at = (strings_at + len(strings) + 7) // 8 * 8
    dynamic = b"".join(struct.pack("<qQ", 1, offset) for offset in offsets) + struct.pack("<qQ", 0, 0)
    sections_at = dynamic_at + len(dynamic)
    header = struct.pack(
        "<16sHHIQQQIHHHHHH",
        b"\x7fELF\x02\x01\x01" + bytes(9),
        3,  # ET_DYN
        62,  # x86-64
        1,
        0,
        0,
        sections_at,
        0,
        64,
        56,
        0,
        64,
        3,
        0,
    )
    sections = struct.pack("<IIQQQQIIQQ", *([0] * 10))
    sections += struct.pack("<IIQQQQIIQQ", 0, _SHT_STRTAB, 0, 0, strings_at, len(strings), 0, 0, 1, 0)
    sections += struct.pack("<IIQQQQIIQQ", 0, _SHT_DYNAMIC, 0, 0, dynamic_at, len(dynamic), 1, 0, 8, 16)
    body = header + strings
    body += bytes(dynamic_at - len(body)) + dynamic + sections
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path


@pytest.fixture
def shared_object(tmp_path: Path) -> Callable[[str, Sequence[str]], Path]:
    """Write a tiny ELF shared object at `tmp_path/<relative path>` linking the given libraries."""

    def make(relative: str, needed: Sequence[str]) -> Path:
        return write_shared_object(tmp_path / relative, needed)

    return make
