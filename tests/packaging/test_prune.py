from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from onnx_lambda.packaging.prune import RULES, PruneError, prune

BINDING = "python/onnxruntime/capi/onnxruntime_pybind11_state.cpython-312-x86_64-linux-gnu.so"
KEPT = (
    "numpy/__init__.py",
    "numpy/testing/__init__.py",
    "numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so",
    "onnxruntime/__init__.py",
    "onnxruntime/capi/libonnxruntime_providers_shared.so",
    "pydantic/__init__.py",
    "pydantic-2.14.4.dist-info/METADATA",
    "pydantic-2.14.4.dist-info/entry_points.txt",
    "pydantic-2.14.4.dist-info/licenses/LICENSE",
)
DROPPED = (
    "onnxruntime/capi/libonnxruntime.so.1.32.0",
    "onnxruntime/transformers/optimizer.py",
    "onnxruntime/quantization/quantize.py",
    "onnxruntime/tools/symbolic_shape_infer.py",
    "boto3/__init__.py",
    "boto3-1.40.0.dist-info/METADATA",
    "botocore/__init__.py",
    "google/protobuf/__init__.py",
    "numpy/_core/tests/test_api.py",
    "numpy/_core/include/numpy/ndarrayobject.h",
    "numpy/_core/_simd.cpython-312-x86_64-linux-gnu.so",
    "numpy/__init__.pyi",
    "numpy/__pycache__/__init__.cpython-311.pyc",
    "numpy/random/__init__.py",
    "pydantic/mypy.py",
    "pydantic/v1/main.py",
    "pydantic-2.14.4.dist-info/RECORD",
    "bin/isympy",
)


def _site(tmp_path: Path, shared_object: Callable[[str, Sequence[str]], Path], numpy_init: str) -> Path:
    shared_object(BINDING, ["libstdc++.so.6", "libc.so.6"])
    site = tmp_path / "python"
    for relative in KEPT + DROPPED:
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
    (site / "numpy" / "__init__.py").write_text(numpy_init)
    return site


def test_prune_drops_what_inference_never_loads_and_keeps_the_rest(
    tmp_path: Path, shared_object: Callable[[str, Sequence[str]], Path]
) -> None:
    site = _site(tmp_path, shared_object, "def __getattr__(name):\n    from . import random\n")

    results = prune(site)

    assert [relative for relative in DROPPED if (site / relative).exists()] == []
    assert [relative for relative in KEPT if not (site / relative).exists()] == []
    assert (site / BINDING.removeprefix("python/")).exists()
    saved = {result.rule.name: result.files for result in results}
    assert saved["onnxruntime-c-api"] == 1
    assert saved["runtime-provided"] == 3
    assert [result.rule.name for result in results] == [rule.name for rule in RULES]


def test_numpy_submodules_stay_when_numpy_imports_them_eagerly(
    tmp_path: Path, shared_object: Callable[[str, Sequence[str]], Path]
) -> None:
    site = _site(tmp_path, shared_object, "from . import fft, random\n")

    results = prune(site)

    assert (site / "numpy" / "random" / "__init__.py").exists()
    skipped = next(result for result in results if result.rule.name == "numpy-unused-submodules")
    assert not skipped.applied


def test_a_binding_that_links_the_c_api_library_stops_the_build(
    tmp_path: Path, shared_object: Callable[[str, Sequence[str]], Path]
) -> None:
    site = _site(tmp_path, shared_object, "")
    shared_object(BINDING, ["libonnxruntime.so.1", "libc.so.6"])

    with pytest.raises(PruneError, match=r"links libonnxruntime\.so\.1; the C-API library must stay"):
        prune(site)

    assert (site / "onnxruntime" / "capi" / "libonnxruntime.so.1.32.0").exists()


def test_a_layer_without_the_binding_is_refused(tmp_path: Path) -> None:
    (tmp_path / "python" / "onnxruntime" / "capi").mkdir(parents=True)

    with pytest.raises(PruneError, match="no onnxruntime_pybind11_state"):
        prune(tmp_path / "python")
