"""The size report: each artefact's zipped and unzipped size against Lambda's deployment limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from onnx_lambda.packaging.archive import Archive
from onnx_lambda.packaging.prune import Pruned
from onnx_lambda.packaging.target import Target

MB = 1000 * 1000  # a megabyte as the target and most tools count it
MIB = 1024 * 1024  # a mebibyte: what AWS means by "MB" in Lambda's quotas


@dataclass(frozen=True)
class LambdaLimits:
    """Lambda's quotas for zip deployments; AWS writes "MB" for MiB (250 MB = 262,144,000 bytes)."""

    unzipped: int = 250 * MIB  # function and all its layers, extracted
    zipped: int = 50 * MIB  # each zip uploaded directly rather than through S3
    layers: int = 5


@dataclass(frozen=True)
class SizeTarget:
    """Issue 5's goal for the python3.12 x86_64 dependency layer, in decimal megabytes (10^6 bytes)."""

    unzipped: int = 90 * MB
    zipped: int = 30 * MB
    applies_to: str = "py3.12-x86_64"


@dataclass(frozen=True)
class Artefact:
    """One deployable zip and what it is: a layer or the function."""

    name: str
    kind: str  # "layer" or "function"
    archive: Archive


@dataclass(frozen=True)
class Naive:
    """A plain `pip install --target` of the same requirements, for comparison."""

    files: int
    unzipped: int
    zipped: int


@dataclass
class SizeReport:
    """Sizes of one build's artefacts, what pruning saved, and how bytecode was made."""

    target: Target
    artefacts: Sequence[Artefact]
    pruned: Sequence[Pruned] = ()
    naive: Naive | None = None
    bytecode: str = ""
    packages: Sequence[str] = field(default_factory=list)
    stripped: str = ""
    size_target: SizeTarget = field(default_factory=SizeTarget)

    @property
    def unzipped(self) -> int:
        return sum(artefact.archive.unzipped for artefact in self.artefacts)

    @property
    def zipped(self) -> int:
        return sum(artefact.archive.zipped for artefact in self.artefacts)

    @property
    def dependency_layer(self) -> Archive | None:
        return next((item.archive for item in self.artefacts if item.name == "dependency layer"), None)

    @property
    def layers(self) -> int:
        return sum(1 for artefact in self.artefacts if artefact.kind == "layer")

    def violations(self, limits: LambdaLimits) -> list[str]:
        """Each Lambda limit this build crosses, as a sentence naming the figure and the limit."""
        problems = []
        if self.unzipped > limits.unzipped:
            problems.append(
                f"function and layers unzip to {size(self.unzipped)}, over Lambda's {size(limits.unzipped)}"
            )
        for artefact in self.artefacts:
            if artefact.archive.zipped > limits.zipped:
                problems.append(
                    f"{artefact.name} zips to {size(artefact.archive.zipped)}, over the "
                    f"{size(limits.zipped)} direct-upload limit"
                )
        if self.layers > limits.layers:
            problems.append(f"{self.layers} layers, over Lambda's {limits.layers}")
        return problems

    def checks(self, limits: LambdaLimits) -> list[tuple[str, int, int]]:
        """(what, measured, limit) for Lambda's limits and, on its own target, the issue's size target."""
        lambda_unzipped = f"{limits.unzipped // MIB} MB as AWS counts it ({limits.unzipped // MIB} MiB)"
        lambda_zipped = f"{limits.zipped // MIB} MB as AWS counts it ({limits.zipped // MIB} MiB)"
        rows = [(f"Lambda: function + layers unzipped, ≤ {lambda_unzipped}", self.unzipped, limits.unzipped)]
        rows += [
            (
                f"Lambda: {item.name} zip for direct upload, ≤ {lambda_zipped}",
                item.archive.zipped,
                limits.zipped,
            )
            for item in self.artefacts
        ]
        rows.append(("Lambda: layers", self.layers, limits.layers))
        layer, goal = self.dependency_layer, self.size_target
        if layer is not None and self.target.name == goal.applies_to:
            rows += [
                (
                    f"issue 5 target: dependency layer unzipped, ≤ {goal.unzipped // MB} MB (decimal)",
                    layer.unzipped,
                    goal.unzipped,
                ),
                (
                    f"issue 5 target: dependency layer zipped, ≤ {goal.zipped // MB} MB (decimal)",
                    layer.zipped,
                    goal.zipped,
                ),
            ]
        return rows

    def markdown(self, limits: LambdaLimits) -> str:
        """The report as Markdown tables, as pasted into the README."""
        lines = [
            f"### {self.target.runtime} {self.target.arch} ({self.target.operating_system})",
            "",
            "Sizes in bytes, in MB (10^6 bytes) and in MiB (2^20 bytes).",
            "",
            "| artefact | files | unzipped bytes | MB | MiB | zipped bytes | MB | MiB |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for artefact in self.artefacts:
            archive = artefact.archive
            lines.append(
                f"| {artefact.name} (`{archive.path.name}`) | {archive.files} | "
                f"{_columns(archive.unzipped)} | {_columns(archive.zipped)} |"
            )
        lines.append(
            f"| **function + {self.layers} layers** | "
            f"{sum(artefact.archive.files for artefact in self.artefacts)} | "
            f"{_columns(self.unzipped)} | {_columns(self.zipped)} |"
        )
        if self.naive:
            lines.append(
                f"| naive `pip install --target` (same requirements) | {self.naive.files} | "
                f"{_columns(self.naive.unzipped)} | {_columns(self.naive.zipped)} |"
            )
        lines += ["", "| check | measured | limit | result |", "| --- | ---: | ---: | --- |"]
        for what, measured, limit in self.checks(limits):
            unit = "" if what == "Lambda: layers" else " bytes"
            verdict = "within" if measured <= limit else "**over**"
            lines.append(f"| {what} | {measured:,}{unit} | {limit:,}{unit} | {verdict} |")
        problems = self.violations(limits)
        lines += [
            "",
            "**Over Lambda's limits:** " + "; ".join(problems) if problems else "Within every Lambda limit.",
            "",
            f"Bytecode: {self.bytecode}",
        ]
        if self.stripped:
            lines += ["", f"Shared objects: {self.stripped}"]
        if self.packages:
            lines += ["", "Packages: " + ", ".join(self.packages)]
        if self.pruned:
            lines += [
                "",
                "| pruning rule | files | saved bytes | MB | MiB | why it is safe |",
                "| --- | ---: | ---: | ---: | ---: | --- |",
            ]
            for item in self.pruned:
                saved = _columns(item.size) if item.applied else "not applied | | "
                lines.append(f"| {item.rule.name} | {item.files} | {saved} | {item.rule.reason} |")
        return "\n".join(lines) + "\n"

    def as_json(self, limits: LambdaLimits) -> dict[str, Any]:
        """The report as plain data, sizes in bytes."""
        return {
            "runtime": self.target.runtime,
            "architecture": self.target.arch,
            "artefacts": [
                {
                    "name": artefact.name,
                    "kind": artefact.kind,
                    "path": str(artefact.archive.path),
                    "files": artefact.archive.files,
                    "unzipped_bytes": artefact.archive.unzipped,
                    "zipped_bytes": artefact.archive.zipped,
                }
                for artefact in self.artefacts
            ],
            "unzipped_bytes": self.unzipped,
            "naive": None
            if self.naive is None
            else {
                "files": self.naive.files,
                "unzipped_bytes": self.naive.unzipped,
                "zipped_bytes": self.naive.zipped,
            },
            "pruned": [
                {"rule": item.rule.name, "files": item.files, "bytes": item.size} for item in self.pruned
            ],
            "bytecode": self.bytecode,
            "stripped": self.stripped,
            "packages": list(self.packages),
            "limits": {
                "unzipped_bytes": limits.unzipped,
                "zipped_bytes": limits.zipped,
                "layers": limits.layers,
            },
            "checks": [
                {"check": what, "measured": measured, "limit": limit, "within": measured <= limit}
                for what, measured, limit in self.checks(limits)
            ],
            "violations": self.violations(limits),
        }


def size(count: int) -> str:
    """`91,234,567 bytes (91.2 MB, 87.0 MiB)`: every unit spelled out, since AWS's "MB" is a MiB."""
    return f"{count:,} bytes ({count / MB:.1f} MB, {count / MIB:.1f} MiB)"


def _columns(count: int) -> str:
    return f"{count:,} | {count / MB:.1f} | {count / MIB:.1f}"
