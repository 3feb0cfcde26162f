from __future__ import annotations

from pathlib import Path

from onnx_lambda.packaging.target import Target
from onnx_lambda.packaging.wheels import runtime_requirements

PYPROJECT = """
[project]
name = "demo"
dependencies = ["mangum>=0.19", "onnxruntime>=1.18", "numpy>=1.26", "boto3>=1.34", "python-dateutil"]
"""


def test_requirements_leave_out_what_the_lambda_runtime_ships(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(PYPROJECT)

    assert runtime_requirements(pyproject, Target("3.12", "x86_64")) == [
        "mangum>=0.19",
        "onnxruntime>=1.18",
        "numpy>=1.26",
    ]


def test_python_3_11_requirements_are_pinned_to_what_amazon_linux_2_can_load(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(PYPROJECT)

    assert runtime_requirements(pyproject, Target("3.11", "arm64")) == [
        "mangum>=0.19",
        "onnxruntime<1.17",
        "numpy<2",
    ]
