"""What the dependency layer drops: files inference never loads, each rule with the reason it is safe."""

from __future__ import annotations

import ast
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from onnx_lambda.packaging.elf import needed_libraries
from onnx_lambda.packaging.target import RUNTIME_PROVIDED


@dataclass(frozen=True)
class PruneRule:
    """Glob patterns under the layer's `python/` directory, removed for one stated reason."""

    name: str
    reason: str
    patterns: tuple[str, ...]
    applies: Callable[[Path], bool] | None = None  # None: always


@dataclass(frozen=True)
class Pruned:
    """What one rule removed."""

    rule: PruneRule
    files: int
    size: int
    applied: bool = True


def _module_level_imports(path: Path) -> set[str]:
    """Submodules a package's `__init__.py` imports relatively when it is imported (not in functions)."""
    names: set[str] = set()

    def visit(nodes: Sequence[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module is None:
                    names.update(alias.name for alias in node.names)
                else:
                    names.add(node.module.partition(".")[0])
            for child in ("body", "orelse", "finalbody", "handlers"):
                visit(getattr(node, child, None) or [])

    visit(ast.parse(path.read_text()).body)
    return names


_NUMPY_OPTIONAL = ("random", "fft", "polynomial", "ma")


def _numpy_loads_lazily(root: Path) -> bool:
    # numpy 2 loads these on first attribute access; numpy 1.x imports them with numpy itself.
    init = root / "numpy" / "__init__.py"
    return init.exists() and not _module_level_imports(init) & set(_NUMPY_OPTIONAL)


def _distributions(*names: str) -> tuple[str, ...]:
    return tuple(pattern for name in names for pattern in (name, f"{name}-*.dist-info"))


RULES: tuple[PruneRule, ...] = (
    PruneRule(
        "runtime-provided",
        "boto3 and its dependencies are in every Lambda Python runtime (/var/runtime)",
        tuple(
            pattern
            for distribution, module in RUNTIME_PROVIDED
            for pattern in (module, f"{module}.py", f"{distribution.replace('-', '_')}-*.dist-info")
        ),
    ),
    PruneRule(
        "onnxruntime-c-api",
        "the C-API library; the Python binding is a separate build that does not link it (checked)",
        ("onnxruntime/capi/libonnxruntime.so*",),
    ),
    PruneRule(
        "onnxruntime-tooling",
        "model conversion, quantisation, transformer optimisers, the onnx backend API and sample data",
        tuple(
            f"onnxruntime/{name}" for name in ("transformers", "quantization", "tools", "backend", "datasets")
        ),
    ),
    PruneRule(
        "tooling-dependencies",
        "imported only by onnxruntime's tooling above, never by `import onnxruntime`",
        (
            *_distributions("flatbuffers", "protobuf", "packaging", "sympy", "mpmath"),
            *_distributions("coloredlogs", "humanfriendly"),
            "google",
            "isympy.py",
            "coloredlogs.pth",
        ),
    ),
    PruneRule(
        "build-tools",
        "numpy's Fortran wrapper generator, distutils and PyInstaller hooks; `import numpy` never loads them",
        ("numpy/f2py", "numpy/distutils", "numpy/_pyinstaller"),
    ),
    PruneRule(
        "numpy-unused-submodules",
        "numpy.random, fft, polynomial and ma: numpy 2 imports them lazily and inference never does"
        " (only when numpy's `__init__` does not import them; `--keep numpy-unused-submodules` keeps them)",
        tuple(f"numpy/{name}" for name in _NUMPY_OPTIONAL),
        _numpy_loads_lazily,
    ),
    PruneRule(
        "pydantic-v1",
        "pydantic's bundled 1.x API; fastapi only probes for it (`from pydantic import v1` guarded by"
        " `except ImportError`) to recognise v1 models, which the handler never defines",
        ("pydantic/v1",),
    ),
    PruneRule(
        "test-suites",
        "test suites, numpy's compiled test helpers, pytest and mypy plugins (not numpy.testing)",
        (
            "**/tests",
            "**/conftest.py",
            "numpy/_core/_*_tests.*.so",
            "numpy/_core/_simd.*.so",
            "anyio/pytest_plugin.py",
            "annotated_types/test_cases.py",
            "pydantic/mypy.py",
            "starlette/testclient.py",
        ),
    ),
    PruneRule(
        "headers-and-static-libraries",
        "C headers, Cython declarations and static libraries for compiling against numpy",
        (
            *("numpy/_core/include", "numpy/core/include", "numpy/_core/lib", "numpy/core/lib"),
            *("**/*.h", "**/*.pxd", "**/*.pyx", "**/*.a"),
        ),
    ),
    PruneRule("type-stubs", "`*.pyi` stubs are read by type checkers, never imported", ("**/*.pyi",)),
    PruneRule(
        "caches",
        "bytecode compiled by the build machine's interpreter; recompiled for the target below",
        ("**/__pycache__", "**/*.pyc"),
    ),
    PruneRule("scripts", "console scripts and data pip puts beside the packages", ("bin", "share")),
    PruneRule(
        "install-records",
        "pip's install bookkeeping; METADATA, entry_points.txt and licences stay for importlib.metadata",
        tuple(
            f"*.dist-info/{name}" for name in ("RECORD", "INSTALLER", "REQUESTED", "WHEEL", "direct_url.json")
        ),
    ),
)


class PruneError(RuntimeError):
    """A pruning rule's safety check failed; the layer would not import."""


def _size(path: Path) -> tuple[int, int]:
    if path.is_dir() and not path.is_symlink():
        files = [item for item in path.rglob("*") if item.is_file()]
        return len(files), sum(item.stat().st_size for item in files)
    return 1, path.lstat().st_size


def _matches(root: Path, patterns: Sequence[str]) -> Iterator[Path]:
    for pattern in patterns:
        # Sorted and deepest-first is unnecessary: a removed parent makes its children vanish.
        for path in sorted(root.glob(pattern)):
            if path.exists() or path.is_symlink():
                yield path


def check_binding(root: Path) -> None:
    """Fail unless onnxruntime's Python binding loads without `libonnxruntime.so`."""
    bindings = sorted((root / "onnxruntime" / "capi").glob("onnxruntime_pybind11_state*.so"))
    if not bindings:
        raise PruneError(f"no onnxruntime_pybind11_state*.so under {root / 'onnxruntime' / 'capi'}")
    for binding in bindings:
        linked = [name for name in needed_libraries(binding) if name.startswith("libonnxruntime.so")]
        if linked:
            raise PruneError(f"{binding.name} links {', '.join(linked)}; the C-API library must stay")


def prune(root: Path, rules: Sequence[PruneRule] = RULES) -> list[Pruned]:
    """Apply each rule under `root` (the layer's `python/`), returning what each removed."""
    check_binding(root)
    results = []
    for rule in rules:
        if rule.applies is not None and not rule.applies(root):
            results.append(Pruned(rule, 0, 0, applied=False))
            continue
        files = size = 0
        for path in _matches(root, rule.patterns):
            count, total = _size(path)
            files += count
            size += total
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        results.append(Pruned(rule, files, size))
    return results
