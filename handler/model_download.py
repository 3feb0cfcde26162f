"""Copies models from an `s3://bucket/prefix` location to local disk, once per environment."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from handler.errors import ModelLoadError

MODEL_SUFFIXES = (".onnx", ".json")


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Split `s3://bucket/prefix` into bucket and prefix (with a trailing slash when non-empty)."""
    rest = uri[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ModelLoadError(f"ONNX_LAMBDA_MODELS={uri!r} names no bucket; expected s3://bucket/prefix")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def download_models(uri: str, cache: Path) -> Path:
    """Download the `.onnx` and `.json` files under `uri` into `cache`; return the directory.

    A file already in the cache with the object's size and ETag is kept, so a re-init in the same
    environment downloads nothing. Files are written under a temporary name and renamed, so a
    partial download (a full /tmp, a killed init) is never mistaken for a model.
    """
    import boto3  # only a store on S3 pays for importing boto3

    bucket, prefix = split_s3_uri(uri)
    target = cache / bucket / prefix
    target.mkdir(parents=True, exist_ok=True)
    s3 = boto3.client("s3")
    paginator = s3.get_paginator("list_objects_v2")
    found = 0
    try:
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                name = key[len(prefix) :]
                if "/" in name or not name.endswith(MODEL_SUFFIXES):
                    continue
                if name.endswith(".onnx"):
                    found += 1
                _fetch(s3, bucket, key, target / name, item["Size"], item["ETag"].strip('"'))
    except ModelLoadError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"could not list or download models from {uri}: {exc}") from None
    if not found:
        raise ModelLoadError(f"no .onnx models found under {uri}")
    return target


def _fetch(s3: object, bucket: str, key: str, path: Path, size: int, etag: str) -> None:
    marker = path.with_name(path.name + ".etag")
    if path.exists() and path.stat().st_size == size and marker.exists() and marker.read_text() == etag:
        return
    partial = path.with_name(path.name + ".partial")
    try:
        s3.download_file(bucket, key, str(partial))  # type: ignore[attr-defined]
        os.replace(partial, path)
        marker.write_text(etag)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise ModelLoadError(
                f"no space left in {path.parent} while downloading s3://{bucket}/{key} "
                f"({size} bytes); raise the function's ephemeral storage or use the model layer"
            ) from None
        raise ModelLoadError(f"could not write s3://{bucket}/{key} to {path}: {exc}") from None
