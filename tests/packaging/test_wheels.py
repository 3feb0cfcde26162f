from __future__ import annotations

from pathlib import Path

import pytest

from onnx_lambda.packaging.target import Target
from onnx_lambda.packaging.wheels import WheelError, read_lock, runtime_requirements, unlocked

PYPROJECT = """
[project]
name = "demo"
dependencies = ["mangum>=0.19", "onnxruntime>=1.18", "numpy>=1.26", "boto3>=1.34", "python-dateutil"]
"""
LOCK = """# resolved for python3.12
mangum==0.22.0
onnxruntime==1.32.0
numpy==2.4.6
typing-extensions==4.16.0  # via mangum
Flatbuffers==25.12.19  # via onnxruntime
"""
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "requirements-runtime.txt").write_text(LOCK)
    return tmp_path / "pyproject.toml", tmp_path / "requirements-runtime.txt"


def test_requirements_leave_out_what_the_lambda_runtime_ships_and_hold_to_the_lock(
    project: tuple[Path, Path],
) -> None:
    requirements = runtime_requirements(*project, Target("3.12", "x86_64"))

    assert requirements.requirements == ["mangum>=0.19", "onnxruntime>=1.18", "numpy>=1.26"]
    assert requirements.constraints == [
        "mangum==0.22.0",
        "onnxruntime==1.32.0",
        "numpy==2.4.6",
        "typing-extensions==4.16.0",
        "flatbuffers==25.12.19",
    ]


def test_python_3_11_replaces_the_lock_for_what_amazon_linux_2_can_load(project: tuple[Path, Path]) -> None:
    requirements = runtime_requirements(*project, Target("3.11", "arm64"))

    assert requirements.requirements == ["mangum>=0.19", "onnxruntime<1.17", "numpy<2"]
    assert requirements.constraints == [
        "mangum==0.22.0",
        "typing-extensions==4.16.0",
        "flatbuffers==25.12.19",
    ]
    # onnxruntime 1.16 brings its own dependencies (sympy, coloredlogs); they can't be in the lock.
    assert unlocked({"sympy": "1.14.0"}, requirements) == []


def test_a_distribution_the_lock_does_not_pin_is_reported(project: tuple[Path, Path]) -> None:
    requirements = runtime_requirements(*project, Target("3.13", "x86_64"))

    assert unlocked({"numpy": "2.4.6", "Typing_Extensions": "4.16.0", "idna": "3.20"}, requirements) == [
        "idna 3.20"
    ]


def test_a_lock_line_without_an_exact_pin_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "requirements-runtime.txt"
    lock.write_text("numpy>=2\n")

    with pytest.raises(WheelError, match="is not pinned with =="):
        read_lock(lock)


def test_the_layers_use_the_container_images_lock() -> None:
    requirements = runtime_requirements(
        ROOT / "pyproject.toml", ROOT / "infra" / "requirements-runtime.txt", Target("3.12", "x86_64")
    )
    locked = read_lock(ROOT / "infra" / "requirements-runtime.txt")

    assert sorted(requirements.constraints) == sorted(
        f"{name}=={version}" for name, version in locked.items()
    )
