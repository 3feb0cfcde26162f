"""Staging directories and the reproducible zips made from them."""

from __future__ import annotations

import hashlib
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

# Zip can't store times before 1980; a fixed time makes the same inputs give the same bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)
MANIFEST = "SHA256SUMS"
MODEL_SUFFIXES = (".onnx", ".json")


@dataclass(frozen=True)
class Archive:
    """A zip that was written: its path, file count and sizes in bytes."""

    path: Path
    files: int
    unzipped: int
    zipped: int


def write_zip(root: Path, destination: Path, compresslevel: int = 9) -> Archive:
    """Zip everything under `root`, paths relative to it, in sorted order with fixed timestamps."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(path for path in root.rglob("*") if path.is_file())
    unzipped = 0
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=_EPOCH)
            mode = 0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data, compresslevel=compresslevel)
    return Archive(destination, len(files), unzipped, destination.stat().st_size)


def stage_models(source: Path, staging: Path) -> dict[str, str]:
    """Copy each model and its config to `staging/models`, writing SHA256SUMS; returns name -> digest."""
    models = staging / "models"
    models.mkdir(parents=True)
    digests = {}
    for path in sorted(source.iterdir()):
        if path.is_file() and path.suffix in MODEL_SUFFIXES:
            shutil.copyfile(path, models / path.name)
            if path.suffix == ".onnx":
                digests[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    if not digests:
        raise FileNotFoundError(f"no *.onnx models in {source}")
    lines = [f"{digest}  {name}\n" for name, digest in sorted(digests.items())]
    (models / MANIFEST).write_text("".join(lines))
    return digests


def stage_function(source: Path, staging: Path) -> Path:
    """Copy the `handler` package to `staging/handler`, without caches or tests."""
    destination = staging / source.name
    shutil.copytree(
        source, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "*.pyi")
    )
    return destination
