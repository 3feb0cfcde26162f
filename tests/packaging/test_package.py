"""One real build (python3.11 x86_64, the interpreter here) shared by every test in this file."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from onnx_lambda.package import Build, build
from onnx_lambda.packaging.bytecode import CHECKED_HASH_FLAGS
from onnx_lambda.packaging.sizes import LambdaLimits
from onnx_lambda.packaging.target import Target
from onnx_lambda.packaging.verify import verify

ROOT = Path(__file__).resolve().parents[2]
WHEEL_CACHE = Path.home() / ".cache" / "onnx-lambda" / "wheels"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return build(
        Target("3.11", "x86_64"),
        build_dir=tmp_path_factory.mktemp("build"),
        wheel_cache=WHEEL_CACHE,
        models=ROOT / "models",
        naive=False,
        compresslevel=1,  # sizes are not under test here; speed is
    )


def _names(archive: Path) -> list[str]:
    with zipfile.ZipFile(archive) as opened:
        return opened.namelist()


def test_build_writes_two_layers_a_function_and_the_size_report(built: Build) -> None:
    assert sorted(path.name for path in built.directory.iterdir()) == [
        "deps-layer.zip",
        "function.zip",
        "models-layer.zip",
        "size-report.json",
        "size-report.md",
    ]
    report = json.loads((built.directory / "size-report.json").read_text())
    assert [artefact["name"] for artefact in report["artefacts"]] == [
        "dependency layer",
        "model layer",
        "function",
    ]
    assert report["violations"] == []
    assert report["unzipped_bytes"] < LambdaLimits().unzipped
    assert "| dependency layer (`deps-layer.zip`) |" in (built.directory / "size-report.md").read_text()


def test_dependency_layer_holds_python_packages_without_what_inference_never_loads(built: Build) -> None:
    names = _names(built.dependency_layer)

    assert all(name.startswith("python/") for name in names)
    assert "python/onnxruntime/__init__.pyc" in names
    assert "python/numpy/testing/__init__.py" in names
    assert [name for name in names if "libonnxruntime.so" in name] == []
    assert [name for name in names if name.endswith(".pyi")] == []
    assert [name for name in names if name.split("/")[1] in ("boto3", "botocore", "s3transfer")] == []
    assert [name for name in names if "/tests/" in name or "/transformers/" in name] == []


def test_modules_serving_imports_ship_as_bytecode_only(built: Build) -> None:
    with zipfile.ZipFile(built.dependency_layer) as opened:
        names = set(opened.namelist())
        served = sorted(name for name in names if name.endswith(".pyc"))
        flags = {int.from_bytes(opened.read(name)[4:8], "little") for name in served}

    assert "python/onnxruntime/__init__.pyc" in served
    assert "python/fastapi/routing.pyc" in served
    assert [name for name in served if "/__pycache__/" in name] == []
    assert [name for name in served if name.removesuffix("c") in names] == []  # no source beside
    assert flags == {0b01}  # hash-based, never checked: there is no source to check against
    assert "python/numpy/testing/__init__.py" in names  # not imported while serving: source only


def test_the_function_ships_checked_hash_bytecode_beside_its_source(built: Build) -> None:
    with zipfile.ZipFile(built.function) as opened:
        names = set(opened.namelist())
        sources = [name for name in names if name.endswith(".py")]
        for source in sources:
            folder, _, module = source.rpartition("/")
            pyc = f"{folder}/__pycache__/{module[:-3]}.cpython-311.pyc"
            assert int.from_bytes(opened.read(pyc)[4:8], "little") == CHECKED_HASH_FLAGS, pyc
    assert len(sources) > 10


def test_function_zip_holds_only_the_handler_package(built: Build) -> None:
    names = _names(built.function)

    assert "handler/__init__.py" in names
    assert all(name.startswith("handler/") for name in names)
    assert [name for name in names if "cpython-311.pyc" in name] != []


def test_model_layer_holds_each_model_with_its_sha256(built: Build) -> None:
    with zipfile.ZipFile(built.model_layer) as opened:
        manifest = opened.read("models/SHA256SUMS").decode().splitlines()
        recorded = {line.split("  ")[1]: line.split("  ")[0] for line in manifest}
        for name, digest in recorded.items():
            assert hashlib.sha256(opened.read(f"models/{name}")).hexdigest() == digest

    assert sorted(recorded) == sorted(path.name for path in (ROOT / "models").glob("*.onnx"))


def test_fixtures_run_through_the_unpacked_artefacts(built: Build) -> None:
    assert built.interpreter is not None

    outcome = verify(
        built.interpreter,
        built.target,
        layer=built.dependency_layer,
        models=built.model_layer,
        function=built.function,
        events=ROOT / "events",
    )

    assert outcome.failures == []
    assert "http-api-v2-infer: HTTP 200" in outcome.checked
    assert "rest-v1-infer: HTTP 200" in outcome.checked
    if (ROOT / "handler" / "events" / "sqs.py").exists():
        assert any(line.startswith("sqs-batch: ") for line in outcome.checked)


def test_verification_fails_when_the_layer_lacks_a_package(built: Build, tmp_path: Path) -> None:
    broken = tmp_path / "deps-layer.zip"
    with zipfile.ZipFile(built.dependency_layer) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            if not info.filename.startswith("python/onnxruntime/"):
                data = source.read(info)
                info.compress_type = zipfile.ZIP_STORED
                target.writestr(info, data)
    assert built.interpreter is not None

    outcome = verify(
        built.interpreter,
        built.target,
        layer=broken,
        models=built.model_layer,
        function=built.function,
        events=ROOT / "events",
    )

    assert not outcome.passed
    assert "No module named 'onnxruntime'" in outcome.failures[0]
