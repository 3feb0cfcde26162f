"""checkov finds nothing in the template and the Dockerfile; every skip is explained and still needed.

checkov runs from its own virtualenv (`infra/checkov.sh` creates `.venv-checkov` on first use, about
a minute, and reuses it), because its pins conflict with the dev extra's.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / "infra" / "checkov.sh"
SCAN = ["--skip-download", "--framework", "cloudformation", "dockerfile", "--output", "json"]
SCAN += ["--file", "infra/template.yaml", "--file", "Dockerfile"]


@pytest.fixture(scope="module")
def reports() -> dict[str, dict[str, Any]]:
    install = subprocess.run(
        [str(CHECKOV), "--version"], check=False, capture_output=True, text=True, timeout=900
    )
    if install.returncode != 0:
        pytest.skip(f"could not create the checkov virtualenv: {install.stderr.strip()[-500:]}")
    scan = subprocess.run(
        [str(CHECKOV), *SCAN], check=False, capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    parsed = json.loads(scan.stdout)
    return {report["check_type"]: report for report in (parsed if isinstance(parsed, list) else [parsed])}


def declared_template_skips() -> set[tuple[str, str]]:
    template = yaml_parse((ROOT / "infra" / "template.yaml").read_text())
    return {
        (name, skip["id"])
        for name, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }


def declared_dockerfile_skips() -> set[str]:
    return set(re.findall(r"checkov:skip=(CKV\w+)", (ROOT / "Dockerfile").read_text()))


@pytest.mark.parametrize("framework", ["cloudformation", "dockerfile"])
def test_no_check_fails(reports, framework):
    report = reports[framework]
    failed = [(c["check_id"], c["resource"]) for c in report["results"].get("failed_checks", [])]
    assert failed == []
    assert report["summary"]["passed"] > 20
    assert report["summary"]["parsing_errors"] == 0


@pytest.mark.parametrize("framework", ["cloudformation", "dockerfile"])
def test_every_skip_says_why(reports, framework):
    skipped = reports[framework]["results"].get("skipped_checks", [])
    assert skipped
    for check in skipped:
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) > 30, (check["check_id"], check["resource"], reason)


def test_every_template_skip_is_still_needed(reports):
    applied = {
        (check["resource"].split(".")[-1], check["check_id"])
        for check in reports["cloudformation"]["results"]["skipped_checks"]
    }
    assert declared_template_skips() == applied


def test_every_dockerfile_skip_is_still_needed(reports):
    applied = {check["check_id"] for check in reports["dockerfile"]["results"]["skipped_checks"]}
    assert declared_dockerfile_skips() == applied
