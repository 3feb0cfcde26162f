"""The size report: each artefact's zipped and unzipped size against Lambda's deployment limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from onnx_lambda.packaging.archive import Archive
from onnx_lambda.packaging.prune import Pruned
from onnx_lambda.packaging.target import Target

MIB = 1024 * 1024


@dataclass(frozen=True)
class LambdaLimits:
    """Lambda's quotas for zip deployments; AWS writes "MB" for MiB (250 MB = 262,144,000 bytes)."""

    unzipped: int = 250 * MIB  # function and all its layers, extracted
    zipped: int = 50 * MIB  # each zip uploaded directly rather than through S3
    layers: int = 5


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

    @property
    def unzipped(self) -> int:
        return sum(artefact.archive.unzipped for artefact in self.artefacts)

    @property
    def layers(self) -> int:
        return sum(1 for artefact in self.artefacts if artefact.kind == "layer")

    def violations(self, limits: LambdaLimits) -> list[str]:
        """Each Lambda limit this build crosses, as a sentence naming the figure and the limit."""
        problems = []
        if self.unzipped > limits.unzipped:
            problems.append(
                f"function and layers unzip to {mib(self.unzipped)}, over Lambda's {mib(limits.unzipped)}"
            )
        for artefact in self.artefacts:
            if artefact.archive.zipped > limits.zipped:
                problems.append(
                    f"{artefact.name} zips to {mib(artefact.archive.zipped)}, over the "
                    f"{mib(limits.zipped)} direct-upload limit"
                )
        if self.layers > limits.layers:
            problems.append(f"{self.layers} layers, over Lambda's {limits.layers}")
        return problems

    def markdown(self, limits: LambdaLimits) -> str:
        """The report as Markdown tables, as pasted into the README."""
        lines = [
            f"### {self.target.runtime} {self.target.arch} ({self.target.operating_system})",
            "",
            "| artefact | files | unzipped | zipped |",
            "| --- | ---: | ---: | ---: |",
        ]
        for artefact in self.artefacts:
            archive = artefact.archive
            lines.append(
                f"| {artefact.name} (`{archive.path.name}`) | {archive.files} | "
                f"{mib(archive.unzipped)} | {mib(archive.zipped)} |"
            )
        total_zipped = sum(artefact.archive.zipped for artefact in self.artefacts)
        lines.append(
            f"| **function + {self.layers} layers** | "
            f"{sum(artefact.archive.files for artefact in self.artefacts)} | "
            f"**{mib(self.unzipped)}** of {mib(limits.unzipped)} | {mib(total_zipped)} |"
        )
        if self.naive:
            lines.append(
                f"| naive `pip install --target` (same requirements) | {self.naive.files} | "
                f"{mib(self.naive.unzipped)} | {mib(self.naive.zipped)} |"
            )
        problems = self.violations(limits)
        lines += [
            "",
            f"Limits: {mib(limits.unzipped)} unzipped (function + layers), {mib(limits.zipped)} per zip "
            f"uploaded directly, {limits.layers} layers. "
            + ("**Over the limits:** " + "; ".join(problems) if problems else "Within every limit."),
            "",
            f"Bytecode: {self.bytecode}",
        ]
        if self.packages:
            lines += ["", "Packages: " + ", ".join(self.packages)]
        if self.pruned:
            lines += ["", "| pruning rule | files | saved | why it is safe |", "| --- | ---: | ---: | --- |"]
            for item in self.pruned:
                saved = mib(item.size) if item.applied else "not applied"
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
            "packages": list(self.packages),
            "limits": {
                "unzipped_bytes": limits.unzipped,
                "zipped_bytes": limits.zipped,
                "layers": limits.layers,
            },
            "violations": self.violations(limits),
        }


def mib(size: int) -> str:
    return f"{size / MIB:.1f} MiB"
