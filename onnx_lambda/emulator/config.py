"""What one emulated function is: handler, code, memory, timeout, concurrency and environment."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Not imported from handler.settings: importing `handler` loads the models, which only instances do.
REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_MODELS = REPO_ROOT / "models"
# Variables of the caller's shell that configure the function, passed to every instance.
PASSED_THROUGH = ("ONNX_LAMBDA_", "AWS_ENDPOINT_URL")


@dataclass(frozen=True)
class FunctionConfig:
    """One function's settings, as its Lambda configuration would hold them."""

    name: str = "onnx-lambda"
    handler: str = "handler.lambda_handler"
    task_root: Path = REPO_ROOT
    memory_mb: int = 1024
    timeout_s: float = 30.0
    concurrency: int = 10
    idle_timeout_s: float = 600.0
    init_timeout_s: float = 10.0
    region: str = "us-east-1"
    account_id: str = "123456789012"
    environment: Mapping[str, str] = field(default_factory=dict)
    python: str = sys.executable

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"

    def instance_environment(self, runtime_api: str) -> dict[str, str]:
        """The variables Lambda sets in an execution environment, then the function's own."""
        env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
        env.update({key: value for key, value in os.environ.items() if key.startswith(PASSED_THROUGH)})
        env.update(
            {
                "AWS_LAMBDA_RUNTIME_API": runtime_api,
                "AWS_LAMBDA_FUNCTION_NAME": self.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
                "_HANDLER": self.handler,
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "LAMBDA_TASK_ROOT": str(self.task_root),
                "LAMBDA_RUNTIME_DIR": str(Path(sys.executable).resolve().parent.parent),
                "TZ": ":UTC",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",  # moto's dummy credentials
                "AWS_SESSION_TOKEN": "testing",
                "PYTHONPATH": str(self.task_root),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.setdefault("ONNX_LAMBDA_MODELS", str(BUNDLED_MODELS))
        env.update(self.environment)
        return env
