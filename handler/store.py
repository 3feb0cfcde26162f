"""Loads ONNX models once per execution environment and keeps one session per model."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from time import perf_counter
from typing import Any, NamedTuple

import numpy as np
import onnxruntime as ort

from handler.datatypes import NUMPY_DTYPES, datatype_of, oip_datatype
from handler.errors import InvalidInput, ModelLoadError, ModelNotFound
from handler.invocation import CURRENT
from handler.settings import Settings

logger = logging.getLogger("onnx_lambda.store")

PLATFORM = "onnxruntime_onnx"


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


CONFIG_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (lambda value: isinstance(value, str) and bool(value), "a non-empty string"),
    "version": (
        lambda value: (isinstance(value, str) and bool(value)) or (type(value) is int and value >= 0),
        "a non-empty string or a non-negative integer",
    ),
    "default": (lambda value: isinstance(value, bool), "true or false"),
    "description": (lambda value: isinstance(value, str), "a string"),
    "features": (_strings, "a list of strings"),
    "max_batch_size": (lambda value: type(value) is int and value >= 1, "a positive integer"),
    "labels": (_strings, "a list of strings"),
}
"""Each key a model's JSON config may hold: the check its value must pass, and what that asks for."""
CONFIG_KEYS = frozenset(CONFIG_TYPES)
_OPTIMIZATION = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


class TensorSpec(NamedTuple):
    """One model input or output: OIP name, datatype and shape (-1 for a dynamic dim)."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    @property
    def dtype(self) -> np.dtype[Any]:
        return NUMPY_DTYPES[self.datatype]

    @property
    def batched(self) -> bool:
        """The first dimension is dynamic: rows stack along it."""
        return bool(self.shape) and self.shape[0] == -1

    def fits(self, shape: tuple[int, ...]) -> bool:
        """True when `shape` has this spec's rank and every fixed dimension."""
        if len(shape) != len(self.shape):
            return False
        for got, want in zip(shape, self.shape, strict=True):  # noqa: SIM110 - a loop beats all() here
            if want >= 0 and got != want:
                return False
        return True

    def describe(self) -> str:
        return f"{self.datatype} with shape {list(self.shape)}"

    def metadata(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


class ModelConfig(NamedTuple):
    """What the JSON file beside a model may say about it."""

    name: str
    version: str = "1"
    default: bool = False
    description: str = ""
    features: tuple[str, ...] = ()
    max_batch_size: int | None = None
    labels: tuple[str, ...] = ()

    @staticmethod
    def read_json(onnx_path: Path) -> dict[str, Any]:
        """Read `<stem>.json` beside the model ({} if there is none), refusing unknown keys and bad values."""
        path = onnx_path.with_suffix(".json")
        if not path.exists():
            return {}
        try:
            raw = json.loads(path.read_text())
        except ValueError as exc:
            raise ModelLoadError(f"model config {path.name} is not valid JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ModelLoadError(f"model config {path.name} must be a JSON object")
        unknown = sorted(set(raw) - CONFIG_KEYS)
        if unknown:
            raise ModelLoadError(
                f"model config {path.name} has unknown keys {unknown}; expected some of {sorted(CONFIG_KEYS)}"
            )
        for key, value in raw.items():
            valid, expected = CONFIG_TYPES[key]
            if not valid(value):
                raise ModelLoadError(
                    f"model config {path.name}: '{key}' must be {expected}; got {json.dumps(value)}"
                )
        return raw

    @classmethod
    def build(cls, onnx_path: Path, raw: Mapping[str, Any], properties: Mapping[str, str]) -> ModelConfig:
        """Combine the JSON config, as `read_json` checked it, with the metadata_props it falls back on."""
        features = raw.get("features") or _split(properties.get("features", ""))
        return cls(
            name=raw.get("name", onnx_path.stem),
            version=str(raw.get("version", properties.get("version", "1"))),
            default=raw.get("default", False),
            description=raw.get("description", properties.get("description", "")),
            features=tuple(features),
            max_batch_size=raw.get("max_batch_size"),
            labels=tuple(raw.get("labels", ())),
        )


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def session_options(settings: Settings) -> ort.SessionOptions:
    """ONNX Runtime options for a function that runs one request at a time."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = _OPTIMIZATION[settings.graph_optimization]
    # Spinning threads burn billed CPU between requests and steal it from the event loop.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


class Model:
    """One loaded model: its session, its tensor specs and its OIP metadata."""

    def __init__(
        self,
        path: Path,
        model_bytes: bytes,
        sha256: str,
        raw_config: Mapping[str, Any],
        options: ort.SessionOptions,
        max_batch_size: int,
    ) -> None:
        """Create the session from `model_bytes`.

        path: where the bytes came from (named in errors).
        model_bytes: the serialized ONNX model, already checked against any digest pin.
        sha256: the hex digest of `model_bytes`.
        raw_config: the JSON config beside the model ({} when there is none).
        options: session options shared by every model of the store.
        max_batch_size: the function-wide cap on rows per run; the model's config may lower it.
        """
        self.path = path
        self.sha256 = sha256
        try:
            self.session = ort.InferenceSession(
                model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelLoadError(f"model {path.name} could not be loaded by ONNX Runtime: {exc}") from None
        meta = self.session.get_modelmeta()
        self.properties: dict[str, str] = dict(meta.custom_metadata_map)
        self.config = ModelConfig.build(path, raw_config, self.properties)
        self.name = self.config.name
        self.version = self.config.version
        self.max_batch_size = min(self.config.max_batch_size or max_batch_size, max_batch_size)
        self.inputs = tuple(_spec(path, "input", arg) for arg in self.session.get_inputs())
        self.outputs = tuple(_spec(path, "output", arg) for arg in self.session.get_outputs())
        self.input_by_name = {spec.name: spec for spec in self.inputs}
        self.output_names = tuple(spec.name for spec in self.outputs)
        # The input whose first dimension counts the rows of a run (None: one row per run).
        self.rows_input = next((spec.name for spec in self.inputs if spec.batched), None)
        self.features = self.config.features
        properties: dict[str, str] = {
            **self.properties,
            "description": self.config.description or meta.description,
            "producer": meta.producer_name,
            "sha256": sha256,
        }
        if self.features:
            properties["features"] = ",".join(self.features)
        if self.config.labels:
            properties["labels"] = ",".join(self.config.labels)
        self.metadata = {
            "name": self.name,
            "versions": [self.version],
            "platform": PLATFORM,
            "inputs": [spec.metadata() for spec in self.inputs],
            "outputs": [spec.metadata() for spec in self.outputs],
            "properties": properties,
        }

    def __repr__(self) -> str:
        return f"Model({self.name!r}, version={self.version!r})"

    def check(self, inputs: Mapping[str, np.ndarray]) -> int:
        """Check tensors against the model's inputs; return the rows they hold or raise InvalidInput."""
        if inputs.keys() != self.input_by_name.keys():
            missing = [name for name in self.input_by_name if name not in inputs]
            extra = [name for name in inputs if name not in self.input_by_name]
            parts = [f"missing {missing}"] if missing else []
            parts += [f"unexpected {extra}"] if extra else []
            raise InvalidInput(
                f"model '{self.name}' expects inputs {list(self.input_by_name)}; got "
                f"{list(inputs)} ({', '.join(parts)})"
            )
        batch = 0 if self.rows_input is not None else 1  # no batched input: one row per run
        for spec in self.inputs:
            array = inputs[spec.name]
            if (array.dtype is not spec.dtype and array.dtype != spec.dtype) or not spec.fits(array.shape):
                raise InvalidInput(
                    f"input '{spec.name}' expects {spec.describe()}; got "
                    f"{_datatype_name(array)} {list(array.shape)}"
                )
            if spec.batched:
                batch = max(batch, array.shape[0])
        if batch > self.max_batch_size:
            raise InvalidInput(
                f"batch of {batch} rows is over model '{self.name}' limit of {self.max_batch_size}"
            )
        return batch

    def run(
        self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None
    ) -> dict[str, np.ndarray]:
        """Run the session on checked inputs; returns the requested (or all) outputs by name."""
        names = outputs or self.output_names
        feed = inputs if type(inputs) is dict else dict(inputs)  # no copy for the usual dict
        started = perf_counter()
        try:
            results = self.session.run(names, feed)
        except ort.capi.onnxruntime_pybind11_state.InvalidArgument as exc:
            raise InvalidInput(f"model '{self.name}' rejected the input: {first_line(exc)}") from None
        seconds = perf_counter() - started
        rows_input = self.rows_input
        CURRENT.ran(self, seconds, len(inputs[rows_input]) if rows_input is not None else 1)
        return dict(zip(names, results, strict=True))

    def warm_up(self) -> None:
        """Run once on zeros shaped from the metadata, so the first request pays no lazy setup."""
        sample = {
            spec.name: np.zeros([1 if dim < 0 else dim for dim in spec.shape], dtype=spec.dtype)
            if spec.datatype != "BYTES"
            else np.full([1 if dim < 0 else dim for dim in spec.shape], "", dtype=object)
            for spec in self.inputs
        }
        self.session.run(None, sample)


def _spec(path: Path, kind: str, arg: Any) -> TensorSpec:
    try:
        datatype = oip_datatype(arg.type)
    except TypeError as exc:
        raise ModelLoadError(f"model {path.name} {kind} '{arg.name}' {exc}") from None
    shape = tuple(dim if isinstance(dim, int) and dim >= 0 else -1 for dim in (arg.shape or ()))
    return TensorSpec(name=arg.name, datatype=datatype, shape=shape)


def _datatype_name(array: np.ndarray) -> str:
    try:
        return datatype_of(array)
    except KeyError:
        return str(array.dtype)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class ModelStore:
    """The models of one execution environment, addressable by name and optional version."""

    def __init__(self, models: Iterable[Model], default: str | None = None) -> None:
        """Index `models` by name and version.

        models: loaded models; at least one.
        default: the name served when a request names none; else the model whose config says
            `"default": true`, else the first name in sorted order.
        """
        self.versions: dict[str, dict[str, Model]] = {}
        for model in models:
            versions = self.versions.setdefault(model.name, {})
            if model.version in versions:
                raise ModelLoadError(
                    f"two models are named '{model.name}' version {model.version}: "
                    f"{versions[model.version].path.name} and {model.path.name}"
                )
            versions[model.version] = model
        if not self.versions:
            raise ModelLoadError("no models were found to load (expected *.onnx files)")
        self.latest = {
            name: versions[max(versions, key=_version_key)] for name, versions in self.versions.items()
        }
        marked = sorted(model.name for model in self.latest.values() if model.config.default)
        self.default_name = default or (marked[0] if marked else sorted(self.latest)[0])
        if self.default_name not in self.latest:
            raise ModelLoadError(
                f"default model '{self.default_name}' is not loaded; loaded: {sorted(self.latest)}"
            )
        self.default = self.latest[self.default_name]
        self.warm_up_seconds = 0.0

    def get(self, name: str | None = None, version: str | None = None) -> Model:
        """Return the named model (the default when `name` is None), or raise ModelNotFound."""
        if name is None:
            if version is None:
                return self.default
            name = self.default_name
        versions = self.versions.get(name)
        if versions is None:
            raise ModelNotFound(f"model '{name}' is not loaded; available: {sorted(self.versions)}")
        if version is None:
            return self.latest[name]
        try:
            return versions[version]
        except KeyError:
            raise ModelNotFound(
                f"model '{name}' has no version '{version}'; available: {sorted(versions)}"
            ) from None

    def __iter__(self) -> Any:
        return (model for versions in self.versions.values() for model in versions.values())

    @classmethod
    def load(cls, settings: Settings) -> ModelStore:
        """Load every model the settings name and check digest pins; warm each one up if warm-up is on."""
        paths = _model_paths(settings)
        if settings.model_names:
            wanted = set(settings.model_names)
            paths = [path for path in paths if path.stem in wanted]
            absent = wanted - {path.stem for path in paths}
            if absent:
                raise ModelLoadError(
                    f"ONNX_LAMBDA_MODEL_NAMES names {sorted(absent)}, which are not in {settings.models}"
                )
        options = session_options(settings)
        models = [_load_one(path, settings, options) for path in paths]
        unpinned = set(settings.model_sha256) - {model.name for model in models}
        if unpinned:
            raise ModelLoadError(
                f"ONNX_LAMBDA_MODEL_SHA256 pins {sorted(unpinned)}, which are not loaded; "
                f"loaded: {sorted(model.name for model in models)}"
            )
        store = cls(models, settings.default_model)
        if settings.warmup:
            started = perf_counter()
            for model in store:
                model.warm_up()
            store.warm_up_seconds = perf_counter() - started
        return store


SMALL_MODEL_BYTES = 1 << 20
"""Below this size a model is hashed with Python's own SHA-256 rather than OpenSSL's (`sha256_hex`)."""


def sha256_hex(data: bytes) -> str:
    """The SHA-256 hex digest of `data`, with whichever implementation costs less cold.

    hashlib loads OpenSSL, 2.5 ms of cold start, and then hashes about 5x faster than Python's
    built-in module (0.56 against 3.2 ms per MB here): the built-in pays for models under 1 MB.
    """
    if len(data) < SMALL_MODEL_BYTES:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found,unused-ignore]  # Python 3.11
        except ImportError:
            try:
                from _sha2 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]  # 3.12+
            except ImportError:  # pragma: no cover - a Python built without them
                from hashlib import sha256
    else:
        from hashlib import sha256
    return sha256(data).hexdigest()  # type: ignore[no-any-return,unused-ignore]


def _load_one(path: Path, settings: Settings, options: ort.SessionOptions) -> Model:
    model_bytes = path.read_bytes()
    digest = sha256_hex(model_bytes)
    raw_config = ModelConfig.read_json(path)
    name = str(raw_config.get("name", path.stem))
    pinned = settings.model_sha256.get(name)
    # Checked before ONNX Runtime parses a single byte of a model that is not the one pinned.
    if pinned is not None and pinned != digest:
        raise ModelLoadError(
            f"model '{name}' ({path.name}) failed its SHA-256 pin: expected {pinned}, "
            f"actual {digest}; refusing to serve it"
        )
    model = Model(path, model_bytes, digest, raw_config, options, settings.max_batch_size)
    logger.info("loaded model %s version %s from %s", model.name, model.version, path)
    return model


def _model_paths(settings: Settings) -> list[Path]:
    if settings.models.startswith("s3://"):
        from handler.model_download import download_models

        directory = download_models(settings.models, settings.model_cache)
    else:
        directory = Path(settings.models)
    if not directory.is_dir():
        raise ModelLoadError(f"ONNX_LAMBDA_MODELS={settings.models!r} is not a directory")
    return sorted(directory.glob("*.onnx"))


def _version_key(version: str) -> tuple[int, int | str]:
    return (1, int(version)) if version.isdigit() else (0, version)
