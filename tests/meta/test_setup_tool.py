"""The setup/test commands' behaviour without any Odoo (runs them for real)."""

import ast
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import ADDONS, REPO, load_file

TOOL = REPO / "scripts" / "prm_dev.py"


def base_python():
    """A Python outside the project's virtualenv (the machine's own)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def bare_env(tmp_path, **extra):
    """An environment with no recorded setup, no ODOO_SRC and no network."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ODOO", "XDG_"))}
    env.update(HOME=str(tmp_path), PRM_OFFLINE="1", **extra)
    return env


def odoo_importable(python):
    code = subprocess.run([python, "-c", "import odoo"], capture_output=True).returncode
    return code == 0


@pytest.fixture
def no_odoo_python():
    python = base_python()
    if odoo_importable(python):
        pytest.skip("the machine's own Python imports odoo")
    return python


def test_test_command_fails_fast_without_odoo(tmp_path, no_odoo_python):
    """With no Odoo anywhere the test command stops in seconds, saying what to do."""
    start = time.monotonic()
    proc = subprocess.run(
        [no_odoo_python, str(TOOL), "test"],
        env=bare_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    assert elapsed < 30, elapsed
    assert "Odoo 18.0 was not found" in proc.stderr
    assert "ODOO_SRC" in proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "0 passed, 1 failed"


def test_wrong_odoo_src_is_explained(tmp_path, no_odoo_python):
    """ODOO_SRC naming something that is not Odoo 18 gets a clear error."""
    proc = subprocess.run(
        [no_odoo_python, str(TOOL), "setup", "--no-db"],
        env=bare_env(tmp_path, ODOO_SRC=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "not an Odoo 18.0 source tree" in proc.stderr


@pytest.mark.parametrize("addon", ADDONS)
def test_addon_builds_as_wheel(tmp_path, addon):
    """Each addon builds (whool) as a wheel named odoo-addon-<addon>."""
    pytest.importorskip("whool")
    env = dict(os.environ, WHOOL_POST_VERSION_STRATEGY_OVERRIDE="none")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(REPO / addon),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    (wheel,) = Path(tmp_path).glob("*.whl")
    version = ast.literal_eval((REPO / addon / "__manifest__.py").read_text())[
        "version"
    ]
    assert wheel.name.startswith(f"odoo_addon_{addon}-{version}")
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith("METADATA"))
        text = archive.read(meta).decode()
    assert f"Name: odoo-addon-{addon}" in text
    assert "Requires-Dist: odoo==18.0.*" in text


def load_tool():
    return load_file("prm_dev_tool", TOOL)


def test_virtualenv_detection_does_not_follow_symlinks():
    """The tool installs into the venv itself, never the base Python it links to."""
    tool = load_tool()
    assert tool.python_prefix(sys.executable) == sys.prefix
    assert tool.in_virtualenv(sys.executable) == (sys.prefix != sys.base_prefix)
    assert not tool.in_virtualenv(base_python())
