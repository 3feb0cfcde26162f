"""The FastAPI app the way tutorials write it: the baseline both the latency and cold-start benchmarks use.

Kept in its own small module, with every import inside the function, so that the cold-start driver
pays only for what the app itself imports.
"""

# No `from __future__ import annotations`: FastAPI must see the endpoint's annotations as the
# classes defined inside `tutorial`, not as strings it cannot resolve from module globals.
from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]


def tutorial(session: Any) -> Handler:
    """FastAPI as tutorials write it: pydantic models, a sync endpoint, Mangum's defaults."""
    import numpy as np
    from fastapi import FastAPI
    from mangum import Mangum
    from pydantic import BaseModel

    class Tensor(BaseModel):
        name: str
        shape: list[int]
        datatype: str
        data: list[Any]

    class InferRequest(BaseModel):
        id: str | None = None
        inputs: list[Tensor]

    class OutputTensor(BaseModel):
        name: str
        shape: list[int]
        datatype: str
        data: list[Any]

    class InferResponse(BaseModel):
        id: str | None = None
        model_name: str
        outputs: list[OutputTensor]

    app = FastAPI()
    names = [output.name for output in session.get_outputs()]

    @app.post("/v2/models/{name}/infer", response_model=InferResponse)
    def infer(name: str, request: InferRequest) -> InferResponse:
        tensor = request.inputs[0]
        array = np.asarray(tensor.data, dtype=np.float32).reshape(tensor.shape)
        results = session.run(names, {tensor.name: array})
        return InferResponse(
            id=request.id,
            model_name=name,
            outputs=[
                OutputTensor(name=n, shape=list(r.shape), datatype=str(r.dtype), data=r.ravel().tolist())
                for n, r in zip(names, results, strict=True)
            ],
        )

    return Mangum(app)  # type: ignore[no-any-return]
