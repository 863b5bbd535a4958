"""Async UI tests run on anyio's pytest plugin, with asyncio as the only backend."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
