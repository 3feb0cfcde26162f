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
    assert "Within every Lambda limit." in report.markdown(LambdaLimits())


def test_unzipped_size_over_the_limit_fails() -> None:
    problems = _report().violations(LambdaLimits(unzipped=80 * MIB))

    assert problems == [
        "function and layers unzip to 84,934,656 bytes (84.9 MB, 81.0 MiB), "
        "over Lambda's 83,886,080 bytes (83.9 MB, 80.0 MiB)"
    ]


def test_each_zip_over_the_direct_upload_limit_is_named() -> None:
    problems = _report().violations(LambdaLimits(zipped=10 * MIB))

    assert problems == [
        "layer 0 zips to 12,582,912 bytes (12.6 MB, 12.0 MiB), over the "
        "10,485,760 bytes (10.5 MB, 10.0 MiB) direct-upload limit",
        "layer 1 zips to 12,582,912 bytes (12.6 MB, 12.0 MiB), over the "
        "10,485,760 bytes (10.5 MB, 10.0 MiB) direct-upload limit",
    ]


def test_too_many_layers_fails() -> None:
    report = _report(layers=3)

    assert report.violations(LambdaLimits(unzipped=10_000 * MIB, layers=2)) == ["3 layers, over Lambda's 2"]
    assert "**Over Lambda's limits:** 3 layers, over Lambda's 2" in report.markdown(LambdaLimits(layers=2))


def test_json_report_carries_bytes_and_violations() -> None:
    data = _report().as_json(LambdaLimits(zipped=12 * MIB))

    assert data["unzipped_bytes"] == 81 * MIB
    assert data["naive"] == {"files": 100, "unzipped_bytes": 160 * MIB, "zipped_bytes": 55 * MIB}
    assert data["violations"] == []


def test_lambda_limits_are_counted_in_mib_and_the_issues_target_in_decimal_mb() -> None:
    report = _report()
    report.artefacts[0] = Artefact(
        "dependency layer", "layer", Archive(Path("deps-layer.zip"), 10, 90_000_001, 29_999_999)
    )

    checks = {what: (measured, limit) for what, measured, limit in report.checks(LambdaLimits())}
    markdown = report.markdown(LambdaLimits())

    assert checks["Lambda: function + layers unzipped, ≤ 250 MB as AWS counts it (250 MiB)"][1] == 262_144_000
    assert checks["Lambda: dependency layer zip for direct upload, ≤ 50 MB as AWS counts it (50 MiB)"] == (
        29_999_999,
        52_428_800,
    )
    assert "| issue 5 target: dependency layer unzipped, ≤ 90 MB (decimal) | 90,000,001 bytes | " in markdown
    assert "| 90,000,001 bytes | 90,000,000 bytes | **over** |" in markdown
    assert "| 29,999,999 bytes | 30,000,000 bytes | within |" in markdown
    assert "| 90,000,001 | 90.0 | 85.8 | 29,999,999 | 30.0 | 28.6 |" in markdown


def test_the_issues_target_is_checked_only_for_the_build_it_was_set_for() -> None:
    report = _report()
    report.target = Target("3.11", "arm64")

    assert [what for what, _, _ in report.checks(LambdaLimits()) if what.startswith("issue 5")] == []
