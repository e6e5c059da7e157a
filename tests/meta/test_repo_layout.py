"""Repository conventions every addon must keep (no Odoo needed)."""

import ast
import csv
import re

import pytest
from conftest import ADDONS, REPO

VERSION = re.compile(r"^18\.0\.\d+\.\d+\.\d+$")


def manifest(addon):
    return ast.literal_eval((REPO / addon / "__manifest__.py").read_text())


def all_addons():
    return sorted(p.parent.name for p in REPO.glob("*/__manifest__.py"))


def _class_attr(node, attr):
    for stmt in node.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == attr for t in stmt.targets
        ):
            return ast.literal_eval(stmt.value)
    return None


def models_of(addon, abstract=False):
    """{model name: file} of the stored models an addon defines (not extends)."""
    found = {}
    for path in sorted((REPO / addon / "models").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            name = _class_attr(node, "_name")
            inherit = _class_attr(node, "_inherit") or []
            inherit = [inherit] if isinstance(inherit, str) else inherit
            bases = {getattr(b, "attr", getattr(b, "id", "")) for b in node.bases}
            if not name or name in inherit:
                continue
            if ("AbstractModel" in bases) != abstract:
                continue
            found[name] = path
    return found


def test_dependency_chain():
    """crm -> prm_tracking -> prm_scoring -> prm_funnel, as the design says."""
    assert manifest("prm_tracking")["depends"] == ["crm"]
    assert manifest("prm_scoring")["depends"] == ["prm_tracking"]
    assert manifest("prm_funnel")["depends"] == ["prm_scoring"]


@pytest.mark.parametrize("addon", ADDONS)
def test_manifest_keys(addon):
    """Manifests carry an 18.0.x.y.z version, LGPL-3 and the OCA keys."""
    man = manifest(addon)
    assert VERSION.match(man["version"]), man["version"]
    assert man["license"] == "LGPL-3"
    for key in (
        "name",
        "summary",
        "author",
        "website",
        "category",
        "depends",
        "data",
        "development_status",
        "maintainers",
        "installable",
    ):
        assert key in man, key
    assert "description" not in man


@pytest.mark.parametrize("addon", ADDONS)
def test_data_files_exist_security_first(addon):
    """Every data/demo file exists, and security files load first."""
    man = manifest(addon)
    for rel in man.get("data", []) + man.get("demo", []):
        assert (REPO / addon / rel).is_file(), rel
    data = man["data"]
    security = [i for i, rel in enumerate(data) if rel.startswith("security/")]
    assert security == list(range(len(security))), data


@pytest.mark.parametrize("addon", ADDONS)
def test_every_model_has_acl(addon):
    """Each model an addon defines has at least one ACL line."""
    with open(REPO / addon / "security" / "ir.model.access.csv") as handle:
        acl_models = {
            row["model_id:id"].split(".")[-1] for row in csv.DictReader(handle)
        }
    for name in models_of(addon):
        assert "model_" + name.replace(".", "_") in acl_models, name


@pytest.mark.parametrize("addon", ADDONS)
def test_one_model_per_file_named_after_it(addon):
    """models/<model>.py defines <model>, and its views are views/<model>_views.xml."""
    for name, path in models_of(addon).items():
        stem = name.replace(".", "_")
        assert path.stem == stem, (name, path.name)
        assert (REPO / addon / "views" / (stem + "_views.xml")).is_file(), name


@pytest.mark.parametrize("addon", ADDONS)
def test_engine_is_pure(addon):
    """Engine modules never import odoo."""
    for path in (REPO / addon / "engine").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "odoo" for n in names), path


@pytest.mark.parametrize("addon", all_addons())
def test_every_test_has_docstring(addon):
    """Each Odoo test method says in one line what it proves."""
    for path in (REPO / addon / "tests").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                assert ast.get_docstring(node), f"{path.name}:{node.name}"


def test_no_machine_path_committed():
    """No absolute path of a developer's machine is written into the repository."""
    pattern = re.compile(
        "(" + "|".join(["/ro" + "ot/", "/ho" + "me/\\w", "/Us" + "ers/"]) + ")"
    )
    offenders = []
    for path in REPO.rglob("*"):
        if (
            ".git" in path.parts
            or not path.is_file()
            or path.suffix in (".png", ".pyc")
        ):
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if pattern.search(text):
            offenders.append(str(path.relative_to(REPO)))
    assert not offenders, offenders
