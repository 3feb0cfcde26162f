"""`onnx-lambda package`: the dependency layer, model layer and function zip, without Docker.

Wheels come from PyPI for the target's platform (manylinux tags for its glibc), are installed flat,
pruned, compiled to bytecode by an interpreter of the target version when one is found (the
modules the event fixtures import ship as .pyc only, the rest as source), zipped reproducibly and
measured against Lambda's limits. `--verify` then runs the event fixtures through the unpacked
artefacts in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import shutil
import subprocess
import sys
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from onnx_lambda.packaging import archive, bytecode, prune, sizes, strip, verify, wheels
from onnx_lambda.packaging.target import ARCHITECTURES, PYTHON_VERSIONS, Target

PROJECT = Path(__file__).resolve().parent.parent
# The versions the container image installs (infra/), so that image and layers ship the same ones.
LOCK = PROJECT / "infra" / "requirements-runtime.txt"
DEPENDENCY_LAYER = "deps-layer.zip"
MODEL_LAYER = "models-layer.zip"
FUNCTION = "function.zip"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--python", nargs="+", default=["3.12"], choices=PYTHON_VERSIONS, help="Lambda Python version(s)"
    )
    parser.add_argument(
        "--arch", nargs="+", default=["x86_64"], choices=ARCHITECTURES, help="architecture(s)"
    )
    parser.add_argument(
        "--build-dir", type=Path, default=PROJECT / "build", help="output root (default build/)"
    )
    parser.add_argument(
        "--wheel-cache",
        type=Path,
        default=Path.home() / ".cache" / "onnx-lambda" / "wheels",
        help="where downloaded wheels are kept between builds",
    )
    parser.add_argument("--models", type=Path, default=PROJECT / "models", help="models for the model layer")
    parser.add_argument("--verify", action="store_true", help="run the event fixtures through the artefacts")
    parser.add_argument(
        "--keep",
        action="append",
        default=[],
        choices=[rule.name for rule in prune.RULES],
        metavar="RULE",
        help="skip a pruning rule (see layers/README.md); repeatable",
    )
    parser.add_argument(
        "--keep-sources",
        action="store_true",
        help="ship the .py of the modules serving imports beside their .pyc (library source lines in "
        "tracebacks; about 5 MB more)",
    )
    parser.add_argument(
        "--no-naive", dest="naive", action="store_false", help="skip measuring a naive pip install --target"
    )


@dataclass(frozen=True)
class Build:
    """One target's artefacts and report."""

    target: Target
    directory: Path
    report: sizes.SizeReport
    interpreter: Path | None

    @property
    def dependency_layer(self) -> Path:
        return self.directory / DEPENDENCY_LAYER

    @property
    def model_layer(self) -> Path:
        return self.directory / MODEL_LAYER

    @property
    def function(self) -> Path:
        return self.directory / FUNCTION


def build(
    target: Target,
    *,
    build_dir: Path,
    wheel_cache: Path,
    models: Path,
    naive: bool = True,
    limits: sizes.LambdaLimits | None = None,
    keep: Sequence[str] = (),
    compresslevel: int = 9,
    lock: Path = LOCK,
    keep_sources: bool = False,
) -> Build:
    """Build one target's zips under `build_dir/<target>` and write its size report there."""
    limits = limits or sizes.LambdaLimits()
    directory = build_dir / target.name
    if directory.exists():
        shutil.rmtree(directory)
    staging = directory / "staging"
    site = staging / "layer" / "python"
    rules = [rule for rule in prune.RULES if rule.name not in keep]

    requirements = wheels.runtime_requirements(PROJECT / "pyproject.toml", lock, target)
    _install(requirements, target, wheel_cache, site, lock, compile_bytecode=naive)
    naive_size = _measure_naive(site) if naive else None  # pip's bytecode goes with the caches rule
    pruned = prune.prune(site, rules)
    stripped = strip.strip_shared_objects(site, target)
    if not stripped.ran:
        print(f"warning: {target.arch}: {stripped.describe()}", file=sys.stderr)

    archive.stage_models(models, staging / "models-layer")
    function_root = staging / "function"
    archive.stage_function(PROJECT / "handler", function_root)

    interpreter = bytecode.find_interpreter(target.python)
    if interpreter is None:
        note = f"none: no python{target.python} interpreter here, so modules compile at every cold start"
        print(f"warning: {note}", file=sys.stderr)
    else:
        served = _served_modules(target, interpreter, requirements, wheel_cache, rules, staging, lock)
        sourceless = served is not None and not keep_sources
        bytecode.compile_tree(interpreter, site, "/opt/python", only=served, sourceless=sourceless)
        if served is None:
            note = f"checked-hash .pyc of every module beside its source, compiled by {interpreter}"
        elif sourceless:
            note = (
                f"the {len(served)} modules the fixtures import ship as .pyc only (no .py), compiled by "
                f"{interpreter}; the rest ship as .py and compile on first import"
            )
        else:
            note = (
                f"checked-hash .pyc of the {len(served)} modules the fixtures import, beside their .py, "
                f"compiled by {interpreter}; the rest compile on first import"
            )
        # The function is small and each event source in it is imported by some deployment.
        bytecode.compile_tree(interpreter, function_root, "/var/task")

    artefacts = [
        sizes.Artefact(
            "dependency layer",
            "layer",
            archive.write_zip(staging / "layer", directory / DEPENDENCY_LAYER, compresslevel),
        ),
        sizes.Artefact(
            "model layer",
            "layer",
            archive.write_zip(staging / "models-layer", directory / MODEL_LAYER, compresslevel),
        ),
        sizes.Artefact(
            "function", "function", archive.write_zip(function_root, directory / FUNCTION, compresslevel)
        ),
    ]
    report = sizes.SizeReport(
        target, artefacts, pruned, naive_size, note, installed_packages(site), stripped.describe()
    )
    (directory / "size-report.md").write_text(report.markdown(limits))
    (directory / "size-report.json").write_text(json.dumps(report.as_json(limits), indent=2) + "\n")
    shutil.rmtree(staging)
    return Build(target, directory, report, interpreter)


def _install(
    requirements: wheels.Requirements,
    target: Target,
    wheel_cache: Path,
    site: Path,
    lock: Path,
    compile_bytecode: bool = False,
) -> None:
    """Install the target's locked wheels into `site`; fail if one is not in the lock."""
    wheels.download(requirements, target, wheel_cache)
    wheels.install(requirements, target, wheel_cache, site, compile_bytecode=compile_bytecode)
    strays = wheels.unlocked(installed_versions(site), requirements)
    if strays:
        raise wheels.WheelError(
            f"{lock} does not pin {', '.join(strays)}, so the image and the layer could differ; "
            "regenerate it (infra/README.md)"
        )


def _served_modules(
    target: Target,
    interpreter: Path,
    requirements: wheels.Requirements,
    wheel_cache: Path,
    rules: Sequence[prune.PruneRule],
    staging: Path,
    lock: Path,
) -> set[Path] | None:
    """The layer's modules the HTTP and SQS fixtures import; None (compile all) if it can't be traced.

    A target this machine can't execute (arm64 here) is traced through its twin for this machine's
    architecture: same lock, same pruning, so the same pure-Python modules.
    """
    layer = staging / "layer"
    if not target.runs_here():
        twin = next(
            (
                Target(target.python, arch)
                for arch in ARCHITECTURES
                if Target(target.python, arch).runs_here()
            ),
            None,
        )
        if twin is None:
            print(
                f"warning: {target.name}: nothing here runs its code; compiling every module", file=sys.stderr
            )
            return None
        layer = staging / f"trace-{twin.name}"
        _install(requirements, twin, wheel_cache, layer / "python", lock)
        prune.prune(layer / "python", rules)
        target = twin
    try:
        served = verify.served_modules(
            interpreter,
            target,
            layer=layer,
            models=staging / "models-layer",
            function=staging / "function",
            events=PROJECT / "events",
        )
    except RuntimeError as exc:
        print(f"warning: {exc}; compiling every module", file=sys.stderr)
        return None
    return {path for path in served if path.suffix == ".py"}


def _measure_naive(site: Path) -> sizes.Naive:
    """Size of the install as pip left it, zipped at the same level the artefacts use."""
    files = [path for path in site.rglob("*") if path.is_file()]
    zipped = sum(_deflated_size(path.read_bytes()) for path in files)
    # Each zip entry also carries its name twice (local header and central directory) and 76 bytes.
    zipped += sum(2 * len(str(path.relative_to(site.parent))) + 76 for path in files)
    return sizes.Naive(len(files), sum(path.stat().st_size for path in files), zipped)


def _deflated_size(data: bytes) -> int:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate, as in a zip
    return len(compressor.compress(data)) + len(compressor.flush())


def installed_versions(site: Path) -> dict[str, str]:
    """name -> version of every distribution installed in `site`."""
    versions = {}
    for metadata in sorted(site.glob("*.dist-info/METADATA")):
        fields = dict(line.split(": ", 1) for line in metadata.read_text().splitlines()[:10] if ": " in line)
        versions[fields.get("Name", metadata.parent.name)] = fields.get("Version", "?")
    return versions


def installed_packages(site: Path) -> list[str]:
    """`name version` of every distribution left in the layer."""
    return [f"{name} {version}" for name, version in installed_versions(site).items()]


def main(args: argparse.Namespace) -> int:
    limits = sizes.LambdaLimits()
    status = 0
    for python in args.python:
        for arch in args.arch:
            target = Target(python, arch)
            # Builds of one target share build/<target>/; serialise them (and their verification).
            with _exclusive(args.build_dir / f".{target.name}.lock"):
                status = max(status, _build_and_check(target, args, limits))
    return status


def _build_and_check(target: Target, args: argparse.Namespace, limits: sizes.LambdaLimits) -> int:
    try:
        result = build(
            target,
            build_dir=args.build_dir,
            wheel_cache=args.wheel_cache,
            models=args.models,
            naive=args.naive,
            limits=limits,
            keep=args.keep,
            keep_sources=args.keep_sources,
        )
    except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as exc:
        # pip, pruning, stripping (ElfError) and compileall failures, a timeout, no models, a bad path
        print(f"error: {target.runtime} {target.arch}: {type(exc).__name__}: {exc}", file=sys.stderr)
        shutil.rmtree(args.build_dir / target.name / "staging", ignore_errors=True)
        return 1
    print(result.report.markdown(limits))
    print(f"written to {result.directory}/")
    status = 0
    for problem in result.report.violations(limits):
        print(f"error: {problem}", file=sys.stderr)
        status = 1
    if args.verify and run_verification(result) is False:
        status = 1
    return status


@contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def run_verification(result: Build) -> bool | None:
    """Verify one build and print the outcome; None when it can't be verified on this machine."""
    target = result.target
    if result.interpreter is None or not target.runs_here():
        print(f"verify: skipped for {target.runtime} {target.arch}: no interpreter for it on this machine")
        return None
    outcome = verify.verify(
        result.interpreter,
        target,
        layer=result.dependency_layer,
        models=result.model_layer,
        function=result.function,
        events=PROJECT / "events",
    )
    for line in outcome.checked:
        print(f"verify: ok   {line}")
    for line in outcome.failures:
        print(f"verify: FAIL {line}", file=sys.stderr)
    return outcome.passed
