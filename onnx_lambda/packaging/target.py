"""Which Lambda runtime and architecture a build is for, and the wheels that run there."""

from __future__ import annotations

import platform
from dataclasses import dataclass

PYTHON_VERSIONS = ("3.11", "3.12", "3.13")

# Lambda's Python runtimes ship boto3 and what it imports in /var/runtime, as (distribution, module):
# a layer copy only adds megabytes and shadows the runtime's own patched version.
RUNTIME_PROVIDED = (
    ("boto3", "boto3"),
    ("botocore", "botocore"),
    ("s3transfer", "s3transfer"),
    ("jmespath", "jmespath"),
    ("python-dateutil", "dateutil"),
    ("six", "six"),
    ("urllib3", "urllib3"),
)
ARCHITECTURES = ("x86_64", "arm64")
_MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}

# Lambda's python3.11 runtime is Amazon Linux 2 (glibc 2.26); python3.12 and later run on
# Amazon Linux 2023 (glibc 2.34). A manylinux wheel runs only where its glibc floor is met.
_OPERATING_SYSTEMS = {
    "3.11": ("Amazon Linux 2", (2, 26)),
    "3.12": ("Amazon Linux 2023", (2, 34)),
    "3.13": ("Amazon Linux 2023", (2, 34)),
}

# onnxruntime 1.17 and later ship only manylinux_2_27/2_28 wheels, so on Amazon Linux 2 the newest
# that installs is 1.16.3, which was compiled against numpy 1.x and fails to import under numpy 2.
_GLIBC_PINS = {(2, 26): ("onnxruntime<1.17", "numpy<2")}


@dataclass(frozen=True)
class Target:
    """A Lambda runtime (`python3.12`) on an architecture (`x86_64` or `arm64`)."""

    python: str
    arch: str

    def __post_init__(self) -> None:
        if self.python not in PYTHON_VERSIONS:
            raise ValueError(f"python {self.python!r} is not one of {', '.join(PYTHON_VERSIONS)}")
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"architecture {self.arch!r} is not one of {', '.join(ARCHITECTURES)}")

    @property
    def name(self) -> str:
        """The build directory's name, e.g. `py3.12-x86_64`."""
        return f"py{self.python}-{self.arch}"

    @property
    def runtime(self) -> str:
        return f"python{self.python}"

    @property
    def machine(self) -> str:
        """The architecture as wheels and `uname -m` spell it."""
        return _MACHINES[self.arch]

    @property
    def operating_system(self) -> str:
        return _OPERATING_SYSTEMS[self.python][0]

    @property
    def glibc(self) -> tuple[int, int]:
        return _OPERATING_SYSTEMS[self.python][1]

    @property
    def pins(self) -> tuple[str, ...]:
        """Requirements that replace the project's own for this runtime's glibc."""
        return _GLIBC_PINS.get(self.glibc, ())

    def platforms(self) -> list[str]:
        """Every manylinux tag whose glibc floor this runtime meets, newest first."""
        major, newest = self.glibc
        tags = [f"manylinux_{major}_{minor}_{self.machine}" for minor in range(newest, 16, -1)]
        return [*tags, f"manylinux2014_{self.machine}"]

    def runs_here(self) -> bool:
        """True when this machine can execute the target's native code."""
        return platform.system() == "Linux" and platform.machine() == self.machine
