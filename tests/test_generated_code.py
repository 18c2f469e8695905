"""The committed generated code must be what protos/ + protos/protoc-args produce."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "adminpanel" / "pymap" / "generated"


def test_committed_generated_code_matches_the_protos(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "protos", tmp_path / "protos")
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "@protos/protoc-args"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    fresh_dir = tmp_path / "adminpanel" / "pymap" / "generated"
    fresh = {p.name: p.read_bytes() for p in fresh_dir.iterdir() if p.is_file()}
    committed = {
        p.name: p.read_bytes() for p in GENERATED.iterdir() if p.is_file() and p.name in fresh
    }
    assert sorted(fresh) == sorted(committed), "generated files missing from the repo"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"regenerate with `make protos`: {stale} differ from protos/"


def test_generated_code_is_not_a_top_level_pymapadmin_package() -> None:
    text = (GENERATED / "admin_grpc.py").read_text()
    assert "import adminpanel.pymap.generated.admin_pb2" in text
    assert "import pymapadmin" not in text
    # The wire paths keep pymap's proto package names.
    assert "'/pymapadmin.grpc.User/GetUser'" in text
