"""The dependency layer's wheels: which requirements, fetched for the target platform, installed flat."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

from onnx_lambda.packaging.target import Target

# Lambda's Python runtimes ship boto3 and what it imports in /var/runtime; a layer copy only adds
# megabytes and shadows the runtime's own patched version.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")


class WheelError(RuntimeError):
    """pip could not fetch or install the wheels for a target."""


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not match:
        raise WheelError(f"cannot read a distribution name from requirement {requirement!r}")
    return canonical(match.group(1))


def runtime_requirements(pyproject: Path, target: Target) -> list[str]:
    """The project's dependencies minus what the runtime ships, with the target's pins applied."""
    project = tomllib.loads(pyproject.read_text())["project"]
    provided = {canonical(name) for name in RUNTIME_PROVIDED}
    pins = {requirement_name(pin): pin for pin in target.pins}
    requirements = []
    for requirement in project["dependencies"]:
        name = requirement_name(requirement)
        if name in provided:
            continue
        requirements.append(pins.pop(name, requirement))
    return requirements + list(pins.values())


def _platform_options(target: Target) -> list[str]:
    options = ["--only-binary=:all:", "--implementation", "cp", "--python-version", target.python]
    for tag in target.platforms():
        options += ["--platform", tag]
    return options


def _pip(arguments: Sequence[str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def download(requirements: Sequence[str], target: Target, cache: Path) -> bool:
    """Fetch the target's wheels into `cache`; False (and a warning) when the index is unreachable."""
    cache.mkdir(parents=True, exist_ok=True)
    result = _pip(["download", "--quiet", "--dest", str(cache), *_platform_options(target), *requirements])
    if result.returncode != 0:
        print(
            f"warning: pip download for {target.runtime} {target.arch} failed; "
            f"installing from the wheels already in {cache}\n{_tail(result.stderr)}",
            file=sys.stderr,
        )
        return False
    return True


def install(
    requirements: Sequence[str],
    target: Target,
    cache: Path,
    destination: Path,
    compile_bytecode: bool = False,
) -> None:
    """Install from `cache` into `destination` as `pip install --target` does; pip compiles only if asked."""
    result = _pip(
        [
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(cache),
            "--target",
            str(destination),
            "--compile" if compile_bytecode else "--no-compile",
            "--no-warn-conflicts",
            "--no-warn-script-location",
            *_platform_options(target),
            *requirements,
        ]
    )
    if result.returncode != 0:
        raise WheelError(
            f"pip could not install {' '.join(requirements)} for {target.runtime} on {target.arch} "
            f"({target.operating_system}, glibc {target.glibc[0]}.{target.glibc[1]}, "
            f"platforms {', '.join(target.platforms()[:2])}, ...):\n{_tail(result.stderr)}"
        )


def _tail(text: str, lines: int = 15) -> str:
    kept = [
        line for line in text.splitlines() if "is ignored: it is neither a file nor a directory" not in line
    ]
    return "\n".join(kept[-lines:])
