from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from onnx_lambda.packaging.elf import ElfError, needed_libraries


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
