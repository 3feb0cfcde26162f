from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from onnx_lambda.packaging.archive import stage_function, stage_models, write_zip

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_the_same_tree_zips_to_the_same_bytes(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "python" / "pkg").mkdir(parents=True)
    (tree / "python" / "pkg" / "__init__.py").write_text("x = 1\n")
    (tree / "python" / "pkg" / "native.so").write_bytes(b"\x7fELF" + bytes(100))
    (tree / "python" / "pkg" / "native.so").chmod(0o755)

    first = write_zip(tree, tmp_path / "first.zip")
    (tree / "python" / "pkg" / "__init__.py").touch()  # a new mtime must not change the zip
    second = write_zip(tree, tmp_path / "second.zip")

    assert first.path.read_bytes() == second.path.read_bytes()
    assert (first.files, first.unzipped) == (2, 110)
    with zipfile.ZipFile(first.path) as archive:
        assert archive.namelist() == ["python/pkg/__init__.py", "python/pkg/native.so"]
        assert archive.getinfo("python/pkg/native.so").external_attr >> 16 & 0o777 == 0o755


def test_model_layer_records_each_models_sha256(tmp_path: Path) -> None:
    digests = stage_models(MODELS, tmp_path)

    manifest = (tmp_path / "models" / "SHA256SUMS").read_text().splitlines()
    assert sorted(digests) == sorted(path.name for path in MODELS.glob("*.onnx"))
    for line in manifest:
        digest, name = line.split("  ")
        assert hashlib.sha256((MODELS / name).read_bytes()).hexdigest() == digest
    assert not (tmp_path / "models" / "build.py").exists()
    assert (tmp_path / "models" / "iris.json").exists()


def test_a_directory_without_models_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    with pytest.raises(FileNotFoundError, match=r"no \*\.onnx models"):
        stage_models(tmp_path / "empty", tmp_path / "staging")


def test_function_staging_leaves_out_caches(tmp_path: Path) -> None:
    source = tmp_path / "handler"
    (source / "__pycache__").mkdir(parents=True)
    (source / "__init__.py").write_text("")
    (source / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"")

    staged = stage_function(source, tmp_path / "staging")

    assert sorted(path.name for path in staged.rglob("*")) == ["__init__.py"]
