"""The HTTP entry keeps working after other code in the environment takes its event loop away."""

from __future__ import annotations

import asyncio

import pytest

import handler.http

# Mangum creates its coroutine before it finds no usable loop; the retry runs a fresh one.
pytestmark = pytest.mark.filterwarnings("ignore:coroutine 'HTTPCycle.run' was never awaited:RuntimeWarning")


async def _nothing() -> None:
    return None


def test_asyncio_run_elsewhere_does_not_break_the_next_request(load_event):
    asyncio.run(_nothing())  # ends by setting no current event loop

    response = handler.http.lambda_handler(load_event("http-api-v2-infer"), None)

    assert response["statusCode"] == 200


def test_a_closed_loop_is_replaced(load_event):
    asyncio.set_event_loop(asyncio.new_event_loop())
    asyncio.get_event_loop().close()

    response = handler.http.lambda_handler(load_event("http-api-v2-infer"), None)

    assert response["statusCode"] == 200
