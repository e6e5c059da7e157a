"""Shared helpers of the repository-level tests."""

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ADDONS = ("prm_tracking", "prm_scoring", "prm_funnel")


def load_file(name, path):
    """The Python file `path` imported as the module `name` (for files
    outside any importable package: the scripts, the benchmarks' helpers,
    an addon's tools without Odoo)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_engine(addon):
    """Import ``<addon>/engine`` as a standalone package, without Odoo.

    The addon's own ``__init__`` imports ``odoo``; the engine must not, so it
    is loaded by path under the name ``<addon>_engine``.
    """
    name = f"{addon}_engine"
    if name in sys.modules:
        return sys.modules[name]
    init = REPO / addon / "engine" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        name, init, submodule_search_locations=[str(init.parent)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
