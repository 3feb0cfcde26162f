"""Rebuild the bundled example models and their configs, byte for byte."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType
from sklearn.base import is_classifier
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

MODELS_DIR = Path(__file__).resolve().parent
PRODUCER = "onnx-lambda models/build.py"
VERSION = "1"
DEFAULT_MODEL = "iris"
MAX_BATCH_SIZE = 8192
# The handler supports onnxruntime 1.18+, which runs these opsets but reads IR versions only up
# to 10; the installed onnx would stamp a newer IR than that, so pin the one opset 17 came with.
OPSETS = {"": 17, "ai.onnx.ml": 3}
IR_VERSION = 8
SEED = 0
# Conv widths per stage, each stage ending in a 2x2 max-pool. The full-resolution convs
# carry the compute but few weights, so one batch-of-1 run takes ~10 ms on 2 cores while
# the file stays under 2 MB.
CNN_STAGES = ((96, 96, 96, 96), (96,), (96,))
CNN_CLASSES = 10
CNN_RUNS = 50


@dataclass(frozen=True)
class SklearnRecipe:
    """How to train one scikit-learn example model."""

    name: str
    description: str
    load: Callable[..., Any]
    make: Callable[[], Any]


SKLEARN_RECIPES = [
    SklearnRecipe(
        "iris",
        "Iris species from sepal and petal measurements (StandardScaler + LogisticRegression).",
        load_iris,
        lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    ),
    SklearnRecipe(
        "breast_cancer",
        "Malignant or benign tumour from 30 cell-nucleus features (RandomForest, 50 trees).",
        load_breast_cancer,
        lambda: RandomForestClassifier(n_estimators=50, max_depth=8, random_state=SEED),
    ),
    SklearnRecipe(
        "diabetes",
        "Disease progression one year after baseline (StandardScaler + Ridge regression).",
        load_diabetes,
        lambda: make_pipeline(StandardScaler(), Ridge(alpha=1.0)),
    ),
]


@dataclass(frozen=True)
class Built:
    """A converted model plus what is needed to write its config and check it."""

    name: str
    description: str
    onnx_model: onnx.ModelProto
    features: list[str] | None = None
    labels: list[str] | None = None
    estimator: Any = None
    data: Any = None  # the sklearn Bunch the estimator was trained on


def snake_case(feature: str) -> str:
    """Turn a feature name into an identifier: 'sepal length (cm)' -> 'sepal_length'."""
    without_unit = re.sub(r"\(.*?\)", "", str(feature))
    return re.sub(r"[^a-z0-9]+", "_", without_unit.lower()).strip("_")


def build_sklearn(recipe: SklearnRecipe) -> Built:
    """Train a recipe on its whole dataset and convert it with one FP32 input, 'input'."""
    data = recipe.load()
    estimator = recipe.make().fit(data.data, data.target)
    n_features = data.data.shape[1]
    final_step = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    labels = [str(t) for t in data.target_names] if is_classifier(estimator) else None
    if labels:
        outputs = [
            ("label", Int64TensorType([None])),
            ("probabilities", FloatTensorType([None, len(labels)])),
        ]
    else:
        outputs = [("prediction", FloatTensorType([None, 1]))]
    onnx_model = convert_sklearn(
        estimator,
        # skl2onnx names the graph with a random uuid unless told, breaking reproducibility.
        name=recipe.name,
        initial_types=[("input", FloatTensorType([None, n_features]))],
        final_types=outputs,
        target_opset=OPSETS,
        # Plain tensors, not a sequence of maps: what the Open Inference Protocol carries.
        options={id(final_step): {"zipmap": False}} if labels else None,
    )
    # skl2onnx gathers opsets in a set, so their order would follow Python's per-run string hashing.
    opsets = [helper.make_opsetid(o.domain, o.version) for o in onnx_model.opset_import]
    del onnx_model.opset_import[:]
    onnx_model.opset_import.extend(sorted(opsets, key=lambda o: o.domain))
    features = [snake_case(f) for f in data.feature_names]
    return Built(recipe.name, recipe.description, onnx_model, features, labels, estimator, data)


def build_cnn() -> Built:
    """A small random-weight CNN for latency benchmarks; its predictions mean nothing."""
    rng = np.random.default_rng(SEED)
    weights: list[onnx.TensorProto] = []

    def weight(name: str, shape: tuple[int, ...]) -> str:
        # He initialisation keeps activations alive, so the softmax is not constant.
        fan_in = int(np.prod(shape[1:]))
        array = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype(np.float32)
        weights.append(numpy_helper.from_array(array, name))
        return name

    def zeros(name: str, size: int) -> str:
        weights.append(numpy_helper.from_array(np.zeros(size, np.float32), name))
        return name

    nodes: list[onnx.NodeProto] = []
    x, in_channels = "image", 3
    for stage, widths in enumerate(CNN_STAGES, start=1):
        for i, channels in enumerate(widths, start=1):
            conv = f"conv{stage}_{i}"
            w = weight(f"{conv}.weight", (channels, in_channels, 3, 3))
            b = zeros(f"{conv}.bias", channels)
            nodes.append(helper.make_node("Conv", [x, w, b], [conv], pads=[1, 1, 1, 1]))
            nodes.append(helper.make_node("Relu", [conv], [f"{conv}.relu"]))
            x, in_channels = f"{conv}.relu", channels
        pool = f"pool{stage}"
        nodes.append(helper.make_node("MaxPool", [x], [pool], kernel_shape=[2, 2], strides=[2, 2]))
        x = pool
    fc_w = weight("fc.weight", (CNN_CLASSES, in_channels))
    fc_b = zeros("fc.bias", CNN_CLASSES)
    nodes += [
        helper.make_node("GlobalAveragePool", [x], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", fc_w, fc_b], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    ]
    for node in nodes:
        node.name = node.output[0]
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, 3, 64, 64])
    probs = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, CNN_CLASSES])
    graph = helper.make_graph(nodes, "cnn", [image], [probs], initializer=weights)
    opset = helper.make_opsetid("", OPSETS[""])
    model = helper.make_model(graph, opset_imports=[opset], ir_version=IR_VERSION)
    onnx.checker.check_model(model, full_check=True)
    description = "Random-weight CNN on 3x64x64 images, 10 classes, for latency benchmarks."
    return Built("cnn", description, model)


def describe(built: Built) -> None:
    """Stamp the model with its name, version, description and features."""
    model = built.onnx_model
    model.producer_name = PRODUCER
    # The converter's version belongs in the lock file, not in bytes we compare.
    model.producer_version = ""
    model.model_version = int(VERSION)
    model.doc_string = built.description
    props = {"name": built.name, "version": VERSION, "description": built.description}
    if built.features:
        props["features"] = ",".join(built.features)
    helper.set_model_props(model, props)


def config(built: Built) -> dict[str, Any]:
    """The JSON config that sits beside each model; absent fields are left out."""
    doc = {
        "name": built.name,
        "version": VERSION,
        "default": built.name == DEFAULT_MODEL,
        "description": built.description,
        "features": built.features,
        "max_batch_size": MAX_BATCH_SIZE,
        "labels": built.labels,
    }
    return {key: value for key, value in doc.items() if value is not None}


def write(built: Built, directory: Path) -> Path:
    """Write '<name>.onnx' and '<name>.json', printing their sizes and SHA-256s."""
    describe(built)
    model_path = directory / f"{built.name}.onnx"
    model_path.write_bytes(built.onnx_model.SerializeToString())
    config_path = directory / f"{built.name}.json"
    config_path.write_text(json.dumps(config(built), indent=2) + "\n")
    for path in (model_path, config_path):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{path.name:20} {path.stat().st_size:>9} bytes  sha256 {digest}")
    return model_path


def verify(built: Built, path: Path) -> bool:
    """Load the written model in onnxruntime and compare it with scikit-learn."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for arg in session.get_inputs() + session.get_outputs():
        print(f"  {arg.name:14} {arg.type:14} {arg.shape}")
    if built.data is None:
        return time_cnn(session)
    features, target = built.data.data, built.data.target
    got = session.run(None, {"input": features.astype(np.float32)})[0]
    expected = built.estimator.predict(features)
    if built.labels is None:
        max_diff = float(np.max(np.abs(got.ravel() - expected)))
        print(f"  max abs diff vs sklearn: {max_diff:.2e}")
        return max_diff < 1e-3
    agreement, accuracy = np.mean(got == expected), np.mean(got == target)
    print(f"  train accuracy {accuracy:.4f}; labels equal sklearn's on {agreement:.2%}")
    return bool(agreement >= 0.99)


def time_cnn(session: ort.InferenceSession) -> bool:
    """Print the median batch-of-1 latency and check the output is a distribution."""
    feed = {"image": np.random.default_rng(SEED).random((1, 3, 64, 64), dtype=np.float32)}
    session.run(None, feed)  # the first run allocates; keep it out of the timing
    times = []
    for _ in range(CNN_RUNS):
        start = time.perf_counter()
        (probabilities,) = session.run(None, feed)
        times.append(time.perf_counter() - start)
    print(f"  median run, batch 1: {statistics.median(times) * 1e3:.2f} ms ({CNN_RUNS} runs)")
    return probabilities.shape == (1, CNN_CLASSES) and bool(abs(probabilities.sum() - 1) < 1e-4)


def main() -> int:
    """Rebuild every model into models/, or into a temp dir and verify with --check."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="build into a temp dir and verify the models")
    args = parser.parse_args()
    builders = [lambda r=r: build_sklearn(r) for r in SKLEARN_RECIPES] + [build_cnn]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) if args.check else MODELS_DIR
        for build in builders:
            built = build()
            path = write(built, directory)
            if args.check and not verify(built, path):
                print(f"  FAILED: {built.name}")
                ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
