"""Bytecode compiled ahead of time by an interpreter of the target version.

Lambda's /opt and /var/task are read-only, so Python can't cache the bytecode it compiles at cold
start. A .pyc shipped beside its source is `checked-hash` (it records the source's hash, not its
timestamp, so it stays valid after zip tools normalise file times); one shipped in place of its
source is `unchecked-hash`, as there is no source to check.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

# PEP 552: the .pyc flags word; bit 0 = hash-based, bit 1 = check the source against the hash.
CHECKED_HASH_FLAGS = 0b11


def find_interpreter(version: str) -> Path | None:
    """A working `python<version>`: this one, one on PATH, or a pyenv install; None if there is none."""
    candidates: list[str] = []
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        candidates.append(sys.executable)
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    installs = pyenv_root.glob(f"versions/{version}.*/bin/python{version}")
    candidates += [str(path) for path in sorted(installs, key=_patch_level, reverse=True)]
    for candidate in candidates:
        if _reports_version(candidate, version):
            return Path(candidate)
    return None


def _patch_level(executable: Path) -> tuple[int, ...]:
    """(3, 12, 10) for `.../versions/3.12.10/bin/python3.12`, so the newest patch release wins."""
    release = executable.parent.parent.name
    return tuple(int(part) if part.isdigit() else -1 for part in release.split("."))


def _reports_version(executable: str, version: str) -> bool:
    # pyenv's shims exist on PATH for every installed version but fail unless that one is selected.
    try:
        result = subprocess.run(
            [executable, "-I", "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return False
    return result.returncode == 0 and result.stdout.strip() == version


def compile_tree(
    interpreter: Path,
    source: Path,
    deployed_as: str,
    only: Collection[Path] | None = None,
    *,
    sourceless: bool = False,
) -> None:
    """Compile the .py files under `source` to .pyc, naming files as they'll be deployed.

    `only` (paths relative to `source`) limits compilation to those files; None compiles them all.
    `sourceless` writes each .pyc in place of its .py (`module.pyc` beside the package's other
    files, PEP 3147's legacy layout, which Python imports without a source) and deletes the .py.
    """
    listed = None if only is None else "".join(f"{source / path}\n" for path in sorted(only))
    command = [
        str(interpreter),
        "-I",
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        # A sourceless .pyc is never checked against a source; a hash (not an mtime) keeps it reproducible.
        *(
            ["-b", "--invalidation-mode", "unchecked-hash"]
            if sourceless
            else ["--invalidation-mode", "checked-hash"]
        ),
        "-s",
        str(source),
        "-p",
        deployed_as,
        *([str(source)] if listed is None else ["-i", "-"]),
    ]
    result = subprocess.run(command, input=listed, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"compileall failed under {source}:\n{result.stdout}{result.stderr}")
    if sourceless:
        for path in [source / path for path in only] if only is not None else source.rglob("*.py"):
            if path.with_suffix(".pyc").exists():
                path.unlink()


def pyc_flags(path: Path) -> int:
    """The PEP 552 flags word of a .pyc file."""
    with path.open("rb") as handle:
        header = handle.read(8)
    return int.from_bytes(header[4:8], "little")
