"""Async tests of the engine run on anyio's pytest plugin, with asyncio as the loop."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
