from __future__ import annotations

import pytest

from onnx_lambda.packaging.target import Target


def test_python_3_11_gets_only_wheels_amazon_linux_2_can_load() -> None:
    target = Target("3.11", "x86_64")

    platforms = target.platforms()

    assert platforms[0] == "manylinux_2_26_x86_64"
    assert "manylinux_2_28_x86_64" not in platforms
    assert platforms[-1] == "manylinux2014_x86_64"
    assert target.pins == ("onnxruntime<1.17", "numpy<2")


def test_python_3_12_on_arm64_targets_amazon_linux_2023() -> None:
    target = Target("3.12", "arm64")

    assert target.name == "py3.12-arm64"
    assert target.runtime == "python3.12"
    assert target.operating_system == "Amazon Linux 2023"
    assert target.platforms()[0] == "manylinux_2_34_aarch64"
    assert "manylinux_2_28_aarch64" in target.platforms()
    assert target.pins == ()


@pytest.mark.parametrize(("python", "arch"), [("3.10", "x86_64"), ("3.12", "aarch64")])
def test_unknown_runtimes_and_architectures_are_refused(python: str, arch: str) -> None:
    with pytest.raises(ValueError, match="is not one of"):
        Target(python, arch)
