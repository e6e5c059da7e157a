"""The translation catalogues keep every placeholder and tag of the English."""

import re

import pytest
from conftest import REPO

try:
    import polib
except ImportError:  # the machine's own Python: nothing to check with
    polib = None

ADDONS = sorted(p.parent.parent.name for p in REPO.glob("prm_*/i18n/*.pot"))
LANGS = ("es", "it")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[-+ #0]*\d*(?:\.\d+)?[sdfr]|%[sdfr]|%%|\{\w*\}")
TAG = re.compile(r"</?[a-zA-Z][\w.-]*")


@pytest.mark.skipif(polib is None, reason="polib is not installed here")
@pytest.mark.parametrize("addon", ADDONS)
@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_matches_its_template(addon, lang):
    """Every message of the template is translated, with the same
    placeholders (%s, %(name)s, {name}) and HTML tags as the English."""
    folder = REPO / addon / "i18n"
    template = polib.pofile(str(folder / f"{addon}.pot"))
    catalogue = {e.msgid: e for e in polib.pofile(str(folder / f"{lang}.po"))}
    problems = []
    for entry in template:
        got = catalogue.get(entry.msgid)
        if got is None or not got.msgstr:
            problems.append(f"untranslated: {entry.msgid[:60]!r}")
            continue
        for pattern in (PLACEHOLDER, TAG):
            if sorted(pattern.findall(entry.msgid)) != sorted(
                pattern.findall(got.msgstr)
            ):
                problems.append(f"placeholders or tags differ: {entry.msgid[:60]!r}")
    assert not problems, "\n".join(problems[:20])
