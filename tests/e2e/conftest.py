"""End-to-end scenarios reuse the integration suite's real-server helpers.

They are loaded under their own module name, `nimbus_servers`, so the two conftest files
do not shadow each other.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_SOURCE = Path(__file__).resolve().parents[1] / "integration" / "conftest.py"
_SPEC = importlib.util.spec_from_file_location("nimbus_servers", _SOURCE)
assert _SPEC is not None and _SPEC.loader is not None
servers = importlib.util.module_from_spec(_SPEC)
sys.modules["nimbus_servers"] = servers
_SPEC.loader.exec_module(servers)
