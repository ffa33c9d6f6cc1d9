"""The harness fixture for the object store's unit tests (helpers: objects_harness.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from objects_harness import Harness


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path / "data")
