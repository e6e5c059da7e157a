# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Room in lead rows for score updates.

Rescoring rewrites the row of every lead whose score changes (daily, as
engagement decays).  A ``crm_lead`` row carries ~30 indexes, and rewriting it
normally adds an entry to each.  PostgreSQL skips all of that (a "HOT" update)
when the new row version fits on the same page, so PRM asks PostgreSQL to
leave half of each page of ``crm_lead`` free: the table takes about twice the
disk space, and a full rescore of 100,000 leads rewrites them about 6x faster
(see docs/benchmarks.md).  Existing pages get the room as their rows are
rewritten (or at once with ``VACUUM FULL crm_lead``).  An administrator's own
setting is kept; uninstalling restores PostgreSQL's default.
"""

from odoo.tools import SQL

from .tools import decision_facts

LEAD_FILLFACTOR = 50
OPTION = f"fillfactor={LEAD_FILLFACTOR}"


def _lead_table_options(cr):
    cr.execute(SQL("SELECT reloptions FROM pg_class WHERE oid = 'crm_lead'::regclass"))
    return cr.fetchone()[0] or []


def post_init_hook(env):
    """Reserve room for score updates, unless a fillfactor is already set;
    give every company without a rule set the default one (scores from the
    first event, with no configuration); with demo data, load a simulated
    year of prospects."""
    if not any(opt.startswith("fillfactor=") for opt in _lead_table_options(env.cr)):
        env.cr.execute(
            SQL("ALTER TABLE crm_lead SET (fillfactor = %s)", LEAD_FILLFACTOR)
        )
    Ruleset = env["prm.scoring.ruleset"].with_context(active_test=False)
    for company in env["res.company"].search([]):
        if not Ruleset.search_count([("company_id", "=", company.id)], limit=1):
            Ruleset._prm_create_default(company)
    # demo data: a year of prospects made by the product's own simulator
    if env["ir.module.module"].search([("name", "=", "prm_scoring")]).demo:
        env["prm.prospect.history"]._load_demo()


def uninstall_hook(env):
    """Give crm_lead back PostgreSQL's default, if PRM set the fillfactor;
    drop the triggers that keep the qualification moves' facts (one is on
    crm_lead)."""
    env.cr.execute(decision_facts.DROP)
    if OPTION in _lead_table_options(env.cr):
        env.cr.execute(SQL("ALTER TABLE crm_lead RESET (fillfactor)"))
