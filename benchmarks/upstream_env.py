"""Create or reuse the virtual environment that holds upstream lupa 2.8 from the index.

The venv is built from the *same* interpreter that runs lupa-rs (``sys.executable``), so both
sides run the same CPython build and only the ``lupa`` package differs. It lives in
``<repo>/bench-envs/upstream`` (git-ignored) and is reused while it still imports lupa 2.8.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

UPSTREAM_REQUIREMENT = "lupa==2.8"
UPSTREAM_VERSION = "2.8"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_VENV = REPO / "bench-envs" / "upstream"


def clean_env() -> dict:
    """Environment for upstream processes: no PYTHONPATH that could point at lupa-rs."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    return env


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def installed_version(python: Path) -> str | None:
    """The lupa version ``python`` imports, or None if it cannot import lupa."""
    probe = "import importlib.metadata as m; print(m.version('lupa'))"
    try:
        out = subprocess.run(
            [str(python), "-c", probe],
            capture_output=True,
            text=True,
            env=clean_env(),
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def ensure(venv: Path = DEFAULT_VENV, log=print) -> Path:
    """Return the upstream interpreter, creating the venv and installing lupa if needed."""
    python = venv_python(venv)
    if python.exists() and installed_version(python) == UPSTREAM_VERSION:
        return python
    if not python.exists():
        log(f"creating {venv} with {sys.executable}")
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=clean_env())
    log(f"installing {UPSTREAM_REQUIREMENT} into {venv}")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        + ["--only-binary", "lupa", UPSTREAM_REQUIREMENT],
        check=True,
        env=clean_env(),
    )
    version = installed_version(python)
    if version != UPSTREAM_VERSION:
        raise RuntimeError(f"{python} imports lupa {version!r}, expected {UPSTREAM_VERSION}")
    return python
