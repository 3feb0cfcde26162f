"""The dependency layer's wheels: which requirements, fetched for the target platform, installed flat."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from onnx_lambda.packaging.target import RUNTIME_PROVIDED, Target


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


@dataclass(frozen=True)
class Requirements:
    """What pip installs for a target: the project's requirements, held to the lock's versions."""

    requirements: list[str]
    constraints: list[str]  # `name==version` from the lock, less what the target overrides
    overridden: tuple[str, ...] = ()  # canonical names the target's pins take out of the lock


def read_lock(lock: Path) -> dict[str, str]:
    """canonical name -> version for each `name==version  # via ...` line of a lock file."""
    pins = {}
    for line in lock.read_text().splitlines():
        requirement = line.partition("#")[0].strip()
        if not requirement:
            continue
        name, operator, version = requirement.partition("==")
        if not operator:
            raise WheelError(f"{lock}: {line!r} is not pinned with ==")
        pins[canonical(name)] = version.strip()
    return pins


def runtime_requirements(pyproject: Path, lock: Path, target: Target) -> Requirements:
    """The project's dependencies minus what the runtime ships, at the lock's versions.

    The lock is the one the container image installs, so image and layers ship the same versions.
    A target's glibc pins (python3.11 on Amazon Linux 2) replace both the requirement and its lock
    line; everything else stays locked.
    """
    project = tomllib.loads(pyproject.read_text())["project"]
    provided = {canonical(distribution) for distribution, _ in RUNTIME_PROVIDED}
    pins = {requirement_name(pin): pin for pin in target.pins}
    unused = dict(pins)
    requirements = []
    for requirement in project["dependencies"]:
        name = requirement_name(requirement)
        if name in provided:
            continue
        requirements.append(unused.pop(name, requirement))
    constraints = [f"{name}=={version}" for name, version in read_lock(lock).items() if name not in pins]
    return Requirements(requirements + list(unused.values()), constraints, tuple(pins))


def unlocked(installed: dict[str, str], requirements: Requirements) -> list[str]:
    """Installed distributions the lock does not pin, unless a target override brought them in."""
    if requirements.overridden:
        return []  # the overriding versions pull in their own dependencies (onnxruntime 1.16's sympy)
    locked = {canonical(constraint.partition("==")[0]) for constraint in requirements.constraints}
    return sorted(f"{name} {version}" for name, version in installed.items() if canonical(name) not in locked)


@contextmanager
def _constraints_file(requirements: Requirements) -> Iterator[list[str]]:
    with tempfile.NamedTemporaryFile("w", prefix="onnx-lambda-lock-", suffix=".txt") as handle:
        handle.write("".join(f"{line}\n" for line in requirements.constraints))
        handle.flush()
        yield ["--constraint", handle.name]


def _platform_options(target: Target) -> list[str]:
    options = ["--only-binary=:all:", "--implementation", "cp", "--python-version", target.python]
    for tag in target.platforms():
        options += ["--platform", tag]
    return options


def _pip(arguments: Sequence[str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def download(requirements: Requirements, target: Target, cache: Path) -> None:
    """Fetch the target's wheels into `cache`; when the index is unreachable, warn and use the cache."""
    cache.mkdir(parents=True, exist_ok=True)
    with _constraints_file(requirements) as constraints:
        result = _pip(
            [
                "download",
                "--quiet",
                "--dest",
                str(cache),
                *constraints,
                *_platform_options(target),
                *requirements.requirements,
            ]
        )
    if result.returncode != 0:
        print(
            f"warning: pip download for {target.runtime} {target.arch} failed; "
            f"installing from the wheels already in {cache}\n{_tail(result.stderr)}",
            file=sys.stderr,
        )


def install(
    requirements: Requirements,
    target: Target,
    cache: Path,
    destination: Path,
    compile_bytecode: bool = False,
) -> None:
    """Install from `cache` into `destination` as `pip install --target` does; pip compiles only if asked."""
    with _constraints_file(requirements) as constraints:
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
                *constraints,
                *_platform_options(target),
                *requirements.requirements,
            ]
        )
    if result.returncode != 0:
        raise WheelError(
            f"pip could not install {' '.join(requirements.requirements)} at the lock's versions "
            f"for {target.runtime} on {target.arch} "
            f"({target.operating_system}, glibc {target.glibc[0]}.{target.glibc[1]}, "
            f"platforms {', '.join(target.platforms()[:2])}, ...):\n{_tail(result.stderr)}"
        )


def _tail(text: str, lines: int = 15) -> str:
    kept = [
        line for line in text.splitlines() if "is ignored: it is neither a file nor a directory" not in line
    ]
    return "\n".join(kept[-lines:])
