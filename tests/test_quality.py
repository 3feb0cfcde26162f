"""The code base stays as clean as pyproject.toml says: ruff lint and format, mypy strict on handler/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_ruff_finds_nothing():
    result = run(str(BIN / "ruff"), "check", ".")

    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_has_nothing_to_change():
    result = run(str(BIN / "ruff"), "format", "--check", ".")

    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_on_handler_is_clean():
    result = run(str(BIN / "mypy"))

    assert result.returncode == 0, result.stdout + result.stderr
