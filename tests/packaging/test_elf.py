from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from onnx_lambda.packaging.elf import ElfError, drop_symbol_table, misaligned_segments, needed_libraries


def test_needed_libraries_lists_dt_needed_in_order(
    shared_object: Callable[[str, Sequence[str]], Path],
) -> None:
    library = shared_object("lib/binding.so", ["libstdc++.so.6", "libonnxruntime.so.1", "libc.so.6"])

    assert needed_libraries(library) == ["libstdc++.so.6", "libonnxruntime.so.1", "libc.so.6"]


def test_needed_libraries_reads_a_real_extension_module() -> None:
    import onnxruntime.capi

    binding = next(Path(onnxruntime.capi.__file__).parent.glob("onnxruntime_pybind11_state*.so"))

    needed = needed_libraries(binding)

    assert "libc.so.6" in needed
    assert not any(name.startswith("libonnxruntime.so") for name in needed)


def test_a_file_that_is_not_elf_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "module.py"
    script.write_text("print('hello')\n")

    with pytest.raises(ElfError, match="not a 64-bit little-endian ELF"):
        needed_libraries(script)


def _openblas(tmp_path: Path) -> Path:
    """A copy of numpy's auditwheel-repaired libraries (OpenBLAS and what it links), as shipped."""
    import numpy

    libraries = Path(numpy.__file__).parent.parent / "numpy.libs"
    found = sorted(libraries.glob("libscipy_openblas*.so"))
    if not found:
        pytest.skip("this numpy has no bundled OpenBLAS")
    copy = tmp_path / "numpy.libs"
    shutil.copytree(libraries, copy)
    return copy / found[0].name


def _loads(library: Path) -> bool:
    script = f"import ctypes; ctypes.CDLL({str(library)!r})"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, check=False).returncode == 0


def test_dropping_the_symbol_table_keeps_a_patchelf_rewritten_library_loadable(tmp_path: Path) -> None:
    library = _openblas(tmp_path)
    size, needed = library.stat().st_size, needed_libraries(library)

    saved = drop_symbol_table(library)

    assert saved > 500_000
    assert library.stat().st_size == size - saved
    assert misaligned_segments(library) == []
    assert needed_libraries(library) == needed
    assert _loads(library)


@pytest.mark.skipif(shutil.which("strip") is None, reason="no GNU strip here")
def test_the_alignment_check_agrees_with_the_loader_on_gnu_strips_output(tmp_path: Path) -> None:
    library = _openblas(tmp_path)
    stripped = tmp_path / "stripped.so"
    subprocess.run(["strip", "--strip-unneeded", "-o", str(stripped), str(library)], check=True)

    assert misaligned_segments(library) == []
    if misaligned_segments(stripped):  # binutils 2.40 does this to numpy 2.4's OpenBLAS
        assert not _loads(stripped)
