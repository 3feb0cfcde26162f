#!/usr/bin/env bash
# Prints infra/template.yaml for another build target, to be saved beside that target's artefacts:
#   infra/render-template.sh 3.13 arm64 > build/py3.13-arm64/template.yaml
# The artefact paths point into the template's own folder and the PythonRuntime and Architecture
# defaults match the artefacts, so `sam deploy` cannot pair x86_64 wheels with an arm64 function.
set -euo pipefail
usage="usage: $0 PYTHON_VERSION ARCH   (3.11|3.12|3.13, x86_64|arm64)"
python="${1:?$usage}"
arch="${2:?$usage}"
case "$python" in 3.11 | 3.12 | 3.13) ;; *) echo "python '$python' is not one of 3.11, 3.12, 3.13" >&2; exit 2 ;; esac
case "$arch" in x86_64 | arm64) ;; *) echo "architecture '$arch' is not one of x86_64, arm64" >&2; exit 2 ;; esac
sed -e "s#\.\./build/py3\.12-x86_64/#./#" \
    -e "/^  PythonRuntime:/,/^  [A-Za-z]/ s#Default: python3\.12#Default: python$python#" \
    -e "/^  Architecture:/,/^  [A-Za-z]/ s#Default: x86_64#Default: $arch#" \
    "$(dirname "$0")/template.yaml"
