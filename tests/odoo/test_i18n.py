"""Every message an addon shows has its Spanish and Italian translation.

Run by pytest-odoo on the test database, where every addon is installed: the
messages are read from the code and views by Odoo's own extractor (the one
behind "Export translations"), then looked up in ``<addon>/i18n/<lang>.po``.
"""

from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

REPO = Path(__file__).resolve().parents[2]
ADDONS = (
    "prm_tracking",
    "prm_scoring",
    "prm_funnel",
    "prm_tracking_mass_mailing",
    "prm_tracking_website",
    "prm_scoring_mass_mailing",
    "prm_funnel_account",
)
LANGS = ("es", "it")


@tagged("standard", "post_install", "-at_install")
class TestCatalogues(TransactionCase):
    def test_every_message_is_translated(self):
        """Each message of each addon's code and views is in its template and
        translated (non-empty) in the Spanish and Italian catalogues."""
        installed = set(
            self.env["ir.module.module"]
            .search([("name", "in", ADDONS), ("state", "=", "installed")])
            .mapped("name")
        )
        self.assertEqual(installed, set(ADDONS))
        for addon in ADDONS:
            terms = {
                source
                for module, _t, _n, _r, source, _v, _c in TranslationModuleReader(
                    self.env.cr, modules=[addon]
                )
                if module == addon and source
            }
            self.assertTrue(terms, addon)
            folder = REPO / addon / "i18n"
            template = {e.msgid for e in polib.pofile(str(folder / f"{addon}.pot"))}
            self.assertFalse(
                sorted(terms - template)[:5], f"{addon}.pot misses messages"
            )
            for lang in LANGS:
                catalogue = polib.pofile(str(folder / f"{lang}.po"))
                translated = {e.msgid for e in catalogue if e.msgstr and not e.obsolete}
                missing = sorted(terms - translated)
                self.assertFalse(
                    missing[:5],
                    f"{addon}/i18n/{lang}.po misses {len(missing)} translations",
                )
