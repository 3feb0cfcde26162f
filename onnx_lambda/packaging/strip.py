"""Symbol tables the dynamic loader never reads, stripped from the layer's shared objects."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from onnx_lambda.packaging.elf import drop_symbol_table, misaligned_segments
from onnx_lambda.packaging.target import Target

_ELF = b"\x7fELF"


@dataclass(frozen=True)
class Stripped:
    """What `strip --strip-unneeded` did to a layer, or why it did nothing."""

    files: int
    saved: int
    tool: str  # the strip that ran, or the one that was missing
    ran: bool = True
    kept: tuple[str, ...] = ()  # left unstripped: stripping would have made them unloadable

    def describe(self) -> str:
        if not self.ran:
            package = self.tool.removesuffix("-strip")
            return f"not stripped: no `{self.tool}` here (Debian: apt-get install binutils-{package})"
        described = (
            f"{self.files} shared objects stripped by `{self.tool} --strip-unneeded` (or their symbol table "
            "cut out where strip would misalign a patchelf-rewritten one), "
            f"{self.saved:,} bytes ({self.saved / 1e6:.1f} MB) saved"
        )
        if self.kept:
            described += (
                "; left as shipped (strip would misalign their load segments, and they have no symbol "
                f"table to cut out): {', '.join(self.kept)}"
            )
        return described


def strip_tool(target: Target) -> str:
    """GNU strip for the target's architecture, as Debian's binutils-<machine>-linux-gnu names it."""
    return f"{target.machine}-linux-gnu-strip"


def _find(target: Target) -> str | None:
    # Plain `strip` reads this machine's own architecture when the cross-named one is absent.
    names = [strip_tool(target), *(["strip"] if target.runs_here() else [])]
    return next((found for found in map(shutil.which, names) if found), None)


def shared_objects(root: Path) -> list[Path]:
    """Every ELF shared object under `root` (`*.so` and versioned `*.so.N`)."""
    found = []
    for path in sorted(root.rglob("*.so*")):
        if path.is_file() and not path.is_symlink() and ".so" in path.name:
            with path.open("rb") as handle:
                if handle.read(4) == _ELF:
                    found.append(path)
    return found


def strip_shared_objects(root: Path, target: Target) -> Stripped:
    """`strip --strip-unneeded` each shared object under `root`, keeping any it would break.

    Only the static symbol table and debug sections go; what the loader resolves (`.dynsym`) stays.
    strip can leave a library that auditwheel's patchelf rewrote with load segments glibc refuses
    to map (numpy's OpenBLAS): every stripped copy is checked, and for such a library only the
    symbol table is cut out, segments left where they are (`elf.drop_symbol_table`).
    """
    tool = _find(target)
    if tool is None:
        return Stripped(0, 0, strip_tool(target), ran=False)
    files = saved = 0
    kept: list[str] = []
    for path in shared_objects(root):
        stripped = path.with_name(path.name + ".stripped")
        result = subprocess.run(
            [tool, "--strip-unneeded", "-o", str(stripped), str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            stripped.unlink(missing_ok=True)
            raise RuntimeError(f"{tool} --strip-unneeded {path} failed:\n{result.stderr}")
        if misaligned_segments(stripped):
            stripped.unlink()
            cut = drop_symbol_table(path)
            if misaligned_segments(path):
                raise RuntimeError(f"cutting the symbol table out of {path} misaligned it")
            if cut:
                files, saved = files + 1, saved + cut
            else:
                kept.append(path.name)
            continue
        saved += path.stat().st_size - stripped.stat().st_size
        files += 1
        stripped.replace(path)
    return Stripped(files, saved, Path(tool).name, kept=tuple(kept))
