#!/usr/bin/env bash
# Runs checkov from its own virtualenv, created on first use and reused after that.
# checkov pins urllib3, packaging and others below what the dev extra needs, so it cannot share .venv.
# Usage: infra/checkov.sh [checkov arguments]   (default: scan infra/template.yaml and Dockerfile)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="${CHECKOV_VERSION:-3.2.459}"
venv="${CHECKOV_VENV:-$root/.venv-checkov}"
if [ -x "$root/.venv/bin/python" ]; then python="${PYTHON:-$root/.venv/bin/python}"; else python="${PYTHON:-python3}"; fi

installed() { [ -x "$venv/bin/checkov" ] && [ "$("$venv/bin/checkov" --version 2>/dev/null)" = "$version" ]; }

if ! installed; then
    # Two test runs at once must not build the same virtualenv over each other.
    exec 9>"$venv.lock"
    flock 9
    if ! installed; then
        rm -rf "$venv"
        "$python" -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "checkov==$version" >&2
    fi
    flock -u 9
fi

cd "$root"
if [ "$#" -eq 0 ]; then
    set -- --quiet --compact --skip-download --framework cloudformation dockerfile --file infra/template.yaml --file Dockerfile
fi
exec "$venv/bin/checkov" "$@"
