"""The benchmarks' own PostgreSQL servers take the settings docs/deploy.md gives."""

import doctest
import os

from conftest import REPO, load_file


def load_pgserver():
    """bench/pgserver.py as a module (bench/ is no package)."""
    return load_file("prm_bench_pgserver", REPO / "bench" / "pgserver.py")


def test_doctests():
    """The settings' doctest holds."""
    module = load_pgserver()
    assert doctest.testmod(module).failed == 0


def test_settings_are_the_deploy_guide_s():
    """A quarter of RAM as shared buffers, three quarters as cache size, 32 MB
    of work memory and 4 GB of WAL: the figures docs/deploy.md prescribes."""
    settings = load_pgserver().deployed_settings(4096)
    assert settings == {
        "shared_buffers": "1024MB",
        "effective_cache_size": "3072MB",
        "work_mem": "32MB",
        "max_wal_size": "4GB",
    }
    guide = (REPO / "docs" / "deploy.md").read_text()
    for words in (
        "a quarter of RAM",
        "three quarters of RAM",
        "`work_mem` 32",
        "`max_wal_size` 4 GB",
    ):
        assert words in guide.replace("\n", " ")


def test_serving_restores_the_environment(monkeypatch):
    """Inside `serving`, libpq's PGHOST/PGPORT name the server; outside, what
    they were before (unset stays unset)."""
    module = load_pgserver()
    monkeypatch.delenv("PGHOST", raising=False)
    monkeypatch.setenv("PGPORT", "5432")
    server = module.Postgres(REPO, "unused", 54999)
    with module.serving(server):
        assert (os.environ["PGHOST"], os.environ["PGPORT"]) == ("127.0.0.1", "54999")
    assert "PGHOST" not in os.environ
    assert os.environ["PGPORT"] == "5432"
