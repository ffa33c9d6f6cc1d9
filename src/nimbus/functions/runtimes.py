"""Which `python3.X` runtimes this host can run, and where their interpreters are."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping

from nimbus.errors import InvalidParameterValue

SUPPORTED = tuple(f"python3.{minor}" for minor in range(10, 15))
# python3.9 reached end of life and Lambda blocks creating functions with it (2026).
DEPRECATED = ("python2.7", "python3.6", "python3.7", "python3.8", "python3.9")


class RuntimeCatalog:
    """Discovers interpreters once (lazily); overrides come from settings."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._found: dict[str, str] | None = None

    def available(self) -> dict[str, str]:
        if self._found is None:
            self._found = {
                name: path for name in SUPPORTED if (path := self._discover(name)) is not None
            }
        return dict(self._found)

    def interpreter(self, runtime: str) -> str:
        """The interpreter for `runtime`, or the AWS error for a runtime we cannot run."""
        if runtime in DEPRECATED:
            raise InvalidParameterValue(
                f"The runtime parameter of {runtime} is no longer supported for creating or "
                "updating AWS Lambda functions. We recommend you use a supported runtime while "
                "creating or updating functions."
            )
        if not runtime.startswith(("python", "nodejs", "java", "dotnet", "ruby", "provided")):
            raise InvalidParameterValue(
                f"Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy "
                f"enum value set: [{', '.join(SUPPORTED)}] or be a known Lambda runtime"
            )
        path = self.available().get(runtime)
        if path is None:
            have = ", ".join(sorted(self.available())) or "none"
            raise InvalidParameterValue(
                f"The runtime {runtime} is not available on this nimbus host "
                f"(runtimes available: {have})."
            )
        return path

    def _discover(self, runtime: str) -> str | None:
        version = runtime.removeprefix("python")
        for candidate in self._candidates(runtime, version):
            if _reports_version(candidate, version):
                return candidate
        return None

    def _candidates(self, runtime: str, version: str) -> list[str]:
        found = []
        if runtime in self._overrides:
            return [self._overrides[runtime]]
        if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
            found.append(os.path.realpath(sys.executable))
        for directory in ("/usr/bin", "/usr/local/bin"):
            found.append(f"{directory}/python{version}")
        pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
        found.extend(sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}")))
        on_path = shutil.which(f"python{version}")
        if on_path and "/shims/" not in on_path:
            found.append(on_path)
        return [path for path in found if os.access(path, os.X_OK)]


def _reports_version(interpreter: str, version: str) -> bool:
    try:
        result = subprocess.run(
            [interpreter, "-I", "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0 and result.stdout.decode().strip() == version
