from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from onnx_lambda.packaging.bytecode import CHECKED_HASH_FLAGS, compile_tree, find_interpreter, pyc_flags

HERE = f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_this_interpreter_is_found_for_its_own_version() -> None:
    interpreter = find_interpreter(HERE)

    assert interpreter is not None
    version = subprocess.run(
        [str(interpreter), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == str(sys.version_info[:2])


def test_no_interpreter_is_found_for_a_version_that_is_not_installed() -> None:
    assert find_interpreter("3.99") is None


def test_compiled_bytecode_is_checked_hash_and_names_the_deployed_path(tmp_path: Path) -> None:
    package = tmp_path / "handler"
    package.mkdir()
    (package / "__init__.py").write_text("def fail():\n    raise RuntimeError('boom')\n")

    compile_tree(Path(sys.executable), tmp_path, "/var/task")

    pyc = Path(importlib.util.cache_from_source(str(package / "__init__.py")))
    assert pyc_flags(pyc) == CHECKED_HASH_FLAGS
    assert b"/var/task/handler/__init__.py" in pyc.read_bytes()
