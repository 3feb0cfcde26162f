"""The Dockerfile, checked without a Docker engine: its copies exist, its handler is real, its pins fit."""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from samtranslator.yaml_helper import yaml_parse

from handler.settings import LAMBDA_MODEL_LAYER

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "infra" / "requirements-runtime.txt"
# The Lambda base image ships boto3 and botocore, as the runtime does for zip deployments.
SHIPPED_BY_LAMBDA = {"boto3", "botocore"}


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def copies() -> list[tuple[list[str], str]]:
    return [(args.split()[:-1], args.split()[-1]) for kind, args in instructions() if kind == "COPY"]


def pins() -> dict[str, tuple[str, str]]:
    """name -> (version, the `# via` comment or "") for each line of the requirements file."""
    found = {}
    for line in REQUIREMENTS.read_text().splitlines():
        requirement, _, comment = line.partition("#")
        if not requirement.strip():
            continue
        name, operator, version = requirement.strip().partition("==")
        assert operator, f"not pinned with ==: {line}"
        found[canonicalize_name(name)] = (version.strip(), comment.strip())
    return found


def test_base_image_is_lambdas_python_image_for_the_templates_default_runtime():
    template = yaml_parse((ROOT / "infra" / "template.yaml").read_text())
    runtime = template["Parameters"]["PythonRuntime"]["Default"]
    assert [args for kind, args in instructions() if kind == "FROM"] == [
        f"public.ecr.aws/lambda/python:{runtime.removeprefix('python')}"
    ]


def test_every_copied_path_exists_and_reaches_the_builder():
    allowed = {line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")}
    for sources, _ in copies():
        for source in sources:
            assert sorted(ROOT.glob(source.rstrip("/"))), f"COPY {source} matches nothing"
            assert source in allowed, f"COPY {source} is excluded by .dockerignore"


def test_models_land_where_the_settings_look_on_lambda():
    targets = {destination for sources, destination in copies() if any("models/" in s for s in sources)}
    assert targets == {LAMBDA_MODEL_LAYER + "/"}
    env = [args for kind, args in instructions() if kind == "ENV"]
    assert f"ONNX_LAMBDA_MODELS={LAMBDA_MODEL_LAYER}" in env


def test_handler_code_goes_to_the_task_root():
    assert (["handler/"], "${LAMBDA_TASK_ROOT}/handler/") in copies()


def test_cmd_names_a_real_function():
    [cmd] = [args for kind, args in instructions() if kind == "CMD"]
    [name] = json.loads(cmd)
    module, _, attribute = name.rpartition(".")
    assert callable(getattr(importlib.import_module(module), attribute))


def test_requirements_pin_exactly_the_projects_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted = {canonicalize_name(Requirement(line).name): Requirement(line) for line in project}
    pinned = pins()
    direct = {name for name, (_, via) in pinned.items() if not via}
    assert direct == set(wanted) - SHIPPED_BY_LAMBDA
    for name in direct:
        version = pinned[name][0]
        assert wanted[name].specifier.contains(version), f"{name}=={version} is outside {wanted[name]}"


def test_every_indirect_pin_names_a_pinned_package_that_needs_it():
    pinned = pins()
    for name, (_, via) in pinned.items():
        if not via:
            continue
        assert via.startswith("via "), (name, via)
        needed_by = [canonicalize_name(part.strip()) for part in via.removeprefix("via ").split(",")]
        assert all(parent in pinned for parent in needed_by), (name, needed_by)
    assert not SHIPPED_BY_LAMBDA & set(pinned)
