"""pymap's own virtual environment (``.venv-pymap``): pymap-admin pins an old
protobuf (``protobuf ~= 4.23``), so pymap cannot share the panel's venv. Also
the environment a pymap from it runs in, without the panel's variables."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

#: The pymap release the panel is built and tested against.
PYMAP_VERSION = "0.36.7"
#: What ``ensure_pymap_venv`` installs. ``admin`` brings the gRPC service,
#: ``macaroon`` the tokens, ``sieve`` is needed by the demo data (without it
#: Append to the demo user fails with ``KeyError: 'sieve'``), ``redis`` the
#: redis backend.
#: ``passlib`` gives pymap its ``--passlib-cfg`` option, with which
#: :class:`~devtools.pymap_process.PymapProcess` sets the cost of password
#: hashing (see ``devtools/pymap_hashing.py``).
PYMAP_REQUIREMENT = f"pymap[admin,macaroon,sieve,redis]=={PYMAP_VERSION} passlib==1.7.4"
#: Written into the venv once PYMAP_REQUIREMENT is installed; a venv made for
#: another requirement (an older checkout's) is brought up to date.
REQUIREMENT_STAMP = ".adminpanel-requirement"

#: Variables that would make the child use other files than ours, load the
#: panel's packages or talk to systemd; they are removed from its environment.
_SCRUBBED_ENV = (
    "CERT_FILE",
    "KEY_FILE",
    "PYMAP_ADMIN_SOCKET",
    "PYMAP_ADMIN_TOKEN_FILE",
    "PYMAP_ADMIN_CONFIG",
    "NOTIFY_SOCKET",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "VIRTUAL_ENV",
)


class PymapStartError(RuntimeError):
    """pymap exited, did not become ready or could not be installed; the
    message ends with its stderr."""


def default_venv_dir() -> Path:
    """``$PYMAP_VENV`` if set, else ``<repo root>/.venv-pymap``."""
    override = os.environ.get("PYMAP_VENV", "").strip()
    return Path(override).expanduser() if override else REPO_ROOT / ".venv-pymap"


def child_env(tmp_dir: Path) -> dict[str, str]:
    """This process's environment without :data:`_SCRUBBED_ENV`, with
    ``TMPDIR`` (where pymap puts its socket and token) and unbuffered output."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["TMPDIR"] = str(tmp_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def ensure_pymap_venv(venv_dir: Path | None = None) -> Path:
    """Make sure ``<venv_dir>/bin/pymap`` exists; return its path.

    When it is missing, the venv is created with the running interpreter's
    ``-m venv`` and :data:`PYMAP_REQUIREMENT` is pip-installed into it (this
    needs network access, once). A venv is used as it is once it holds that
    requirement (:data:`REQUIREMENT_STAMP`); one made for another requirement
    is installed into again. A lock file inside the venv directory keeps parallel test
    workers from installing at the same time.
    """
    venv_dir = (venv_dir or default_venv_dir()).absolute()
    pymap = venv_dir / "bin" / "pymap"
    stamp = venv_dir / REQUIREMENT_STAMP

    def installed() -> bool:
        return pymap.exists() and stamp.exists() and stamp.read_text() == PYMAP_REQUIREMENT

    if installed():
        return pymap
    venv_dir.mkdir(parents=True, exist_ok=True)  # `-m venv` accepts an existing dir
    with (venv_dir / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not installed():  # another worker may have finished meanwhile
            if not (venv_dir / "bin" / "python").exists():
                subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True)  # noqa: S603
            subprocess.run(  # noqa: S603
                [
                    str(venv_dir / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--quiet",
                    *PYMAP_REQUIREMENT.split(),
                ],
                check=True,
            )
            if pymap.exists():
                stamp.write_text(PYMAP_REQUIREMENT)
    if not pymap.exists():
        raise PymapStartError(f"installing {PYMAP_REQUIREMENT} did not produce {pymap}")
    return pymap
