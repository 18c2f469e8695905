"""Where the panel's run-time files are: templates, static files, /favicon.ico.

In the repository they sit at the top (``templates/``, ``static/``,
``public/``); the wheel carries them inside the package (setup.py maps them
to ``adminpanel/templates`` and so on). An installed panel therefore reads
them from its own package and needs no checkout.
"""

from __future__ import annotations

from pathlib import Path

#: The installed package's directory (site-packages/adminpanel, or the checkout's).
PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: The repository root, when running from a checkout.
CHECKOUT_DIR = PACKAGE_DIR.parent


def installed() -> bool:
    """Whether this is the package from a wheel (its data inside it)."""
    return (PACKAGE_DIR / "templates").is_dir()


def data_dir(name: str) -> Path:
    """``templates``, ``static`` or ``public``: inside the installed package,
    else at the top of the checkout."""
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else CHECKOUT_DIR / name
