"""The panel's one version string: pyproject.toml's, as the installed
distribution's metadata holds it (a wheel and an editable checkout alike)."""

from __future__ import annotations

import importlib.metadata
from functools import cache

DISTRIBUTION = "pymap-adminpanel"


@cache
def panel_version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed as a package)"
