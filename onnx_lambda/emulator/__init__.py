"""Local Lambda emulation without Docker: real execution-environment processes under `awslambdaric`.

`pool.Function` runs a function's instances (`instances.Instance`, each with its own
`runtime_api.RuntimeApi`); `apigateway`, `invoke_api` and `sqs_mapping` are the front doors;
`server.Emulator` puts them together for `onnx-lambda run`.
"""
