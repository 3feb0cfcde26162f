"""onnx-lambda's local tooling: the CLI, the emulator, packaging and benchmarks (never deployed)."""
