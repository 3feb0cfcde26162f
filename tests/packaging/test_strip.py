from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from onnx_lambda.packaging.elf import misaligned_segments
from onnx_lambda.packaging.strip import strip_shared_objects
from onnx_lambda.packaging.target import Target

HERE = Target("3.12", "arm64" if platform.machine() == "aarch64" else "x86_64")


@pytest.fixture
def numpy_libraries(tmp_path: Path) -> Path:
    """numpy's compiled core and its auditwheel-repaired libraries, laid out as in a layer."""
    import numpy

    site = Path(numpy.__file__).parent.parent
    layer = tmp_path / "python"
    shutil.copytree(
        site / "numpy" / "_core", layer / "numpy" / "_core", ignore=shutil.ignore_patterns("*.py*")
    )
    if (site / "numpy.libs").exists():
        shutil.copytree(site / "numpy.libs", layer / "numpy.libs")
    return layer


@pytest.mark.skipif(shutil.which("strip") is None, reason="no GNU strip here")
def test_stripped_libraries_are_smaller_and_still_load(numpy_libraries: Path) -> None:
    objects = sorted(path for path in numpy_libraries.rglob("*.so*") if path.is_file())
    before = sum(path.stat().st_size for path in objects)

    stripped = strip_shared_objects(numpy_libraries, HERE)

    assert stripped.ran
    assert stripped.saved == before - sum(path.stat().st_size for path in objects) > 0
    assert [path.name for path in objects if misaligned_segments(path)] == []
    for library in sorted((numpy_libraries / "numpy.libs").glob("libscipy_openblas*.so")):
        script = f"import ctypes; ctypes.CDLL({str(library)!r})"
        assert subprocess.run([sys.executable, "-c", script], check=False).returncode == 0


def test_a_missing_cross_strip_says_which_package_to_install(numpy_libraries: Path) -> None:
    other = Target("3.12", "x86_64" if HERE.arch == "arm64" else "arm64")
    if shutil.which(f"{other.machine}-linux-gnu-strip"):
        pytest.skip(f"{other.machine}-linux-gnu-strip is installed here")

    stripped = strip_shared_objects(numpy_libraries, other)

    assert not stripped.ran
    assert f"apt-get install binutils-{other.machine}-linux-gnu" in stripped.describe()
