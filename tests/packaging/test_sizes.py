from __future__ import annotations

from pathlib import Path

from onnx_lambda.packaging.archive import Archive
from onnx_lambda.packaging.sizes import MIB, Artefact, LambdaLimits, Naive, SizeReport
from onnx_lambda.packaging.target import Target


def _report(layers: int = 2) -> SizeReport:
    artefacts = [
        Artefact(f"layer {index}", "layer", Archive(Path(f"layer-{index}.zip"), 10, 40 * MIB, 12 * MIB))
        for index in range(layers)
    ]
    artefacts.append(Artefact("function", "function", Archive(Path("function.zip"), 3, 1 * MIB, MIB // 2)))
    return SizeReport(Target("3.12", "x86_64"), artefacts, naive=Naive(100, 160 * MIB, 55 * MIB))


def test_a_build_within_lambdas_limits_passes() -> None:
    report = _report()

    assert report.violations(LambdaLimits()) == []
    assert "Within every limit." in report.markdown(LambdaLimits())


def test_unzipped_size_over_the_limit_fails() -> None:
    problems = _report().violations(LambdaLimits(unzipped=80 * MIB))

    assert problems == ["function and layers unzip to 81.0 MiB, over Lambda's 80.0 MiB"]


def test_each_zip_over_the_direct_upload_limit_is_named() -> None:
    problems = _report().violations(LambdaLimits(zipped=10 * MIB))

    assert problems == [
        "layer 0 zips to 12.0 MiB, over the 10.0 MiB direct-upload limit",
        "layer 1 zips to 12.0 MiB, over the 10.0 MiB direct-upload limit",
    ]


def test_too_many_layers_fails() -> None:
    report = _report(layers=3)

    assert report.violations(LambdaLimits(unzipped=10_000 * MIB, layers=2)) == ["3 layers, over Lambda's 2"]
    assert "**Over the limits:** 3 layers, over Lambda's 2" in report.markdown(LambdaLimits(layers=2))


def test_json_report_carries_bytes_and_violations() -> None:
    data = _report().as_json(LambdaLimits(zipped=12 * MIB))

    assert data["unzipped_bytes"] == 81 * MIB
    assert data["naive"] == {"files": 100, "unzipped_bytes": 160 * MIB, "zipped_bytes": 55 * MIB}
    assert data["violations"] == []
