# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Facts joining qualification moves and leads, stored for the reports.

On a million leads, the Qualification report joined every decision to its
lead on each call of its pivot (four calls as it opens), and the Source
Quality report summed every lead's moves on each call. The facts they need
are now stored:

- ``prm_qualification_entry.lead_won_at``: while the lead is won (active, at
  100 %), when it was closed (its closing date; when that is empty, which
  Odoo's own flows never leave, the lead's last write when the trigger saw
  it); empty otherwise. A decision is "won later" when
  ``lead_won_at >= date``.
- ``crm_lead.prm_qualified_on`` (its first move to qualified) and
  ``crm_lead.prm_accepted`` (ever accepted by sales; empty without moves).

Triggers keep them in the transaction that changes a lead or its moves:

- a row trigger on the moves, before INSERT or a change of lead (a merge),
  sets ``lead_won_at`` from the lead (and the move's company from the
  lead's, when the move has none);
- a row trigger on ``crm_lead``, when the lead becomes won, stops being won
  or gets another closing date, sets ``lead_won_at`` on the lead's moves;
- statement triggers on the moves (INSERT, DELETE, a change of lead, state
  or date) compute the lead facts again, from all their moves, of the leads
  whose moves came, went or changed, and write those leads' rows.

:func:`sync_sql` computes all of them again and writes only what differs;
installing or updating the module runs it (a safety net for data loaded
with the triggers off).
"""

from odoo.tools import SQL

from odoo.addons.prm_tracking.tools.schema import (
    drop_triggers_sql,
    statement_triggers,
    triggers_sql,
)

# a lead's row {l} is won now (the funnel's lead facts read it too)
WON = "COALESCE({l}.active AND {l}.probability = 100, false)"
# when the lead {l} was won, while it is won: its closing date, or what was
# stored ({kept}) when it has none, or the lead's last write (when the
# trigger sees it won)
WON_AT = "CASE WHEN {won} THEN COALESCE({l}.date_closed, {kept}, {l}.write_date) END"
# a move {q} whose lead was won afterwards (the report's "won later")
WON_LATER = "COALESCE({q}.lead_won_at >= {q}.date, false)"
# a lead's facts from its moves {q} (grouped by lead)
LEAD_FACTS = (
    "min({q}.date) FILTER (WHERE {q}.to_state = 'qualified') AS qualified_on, "
    "bool_or({q}.to_state = 'accepted') AS accepted"
)


def _lead_facts_update(leads):
    """Store the facts of the leads whose ids the SQL array `leads` holds,
    computed from all their moves; the leads are locked in id order first,
    so two statements never wait on each other's leads crosswise.

    The lead row is written even when its facts are unchanged: a move
    inserted by one transaction while another wins its lead would otherwise
    keep the old "won on" (each reads the other's side as it was, REPEATABLE
    READ); as both write the lead's row, the one that commits second fails
    to serialize and Odoo runs it again."""
    return f"""
    PERFORM 1 FROM crm_lead WHERE id = ANY({leads}) ORDER BY id FOR NO KEY UPDATE;
    UPDATE crm_lead l SET prm_qualified_on = f.qualified_on, prm_accepted = f.accepted
      FROM (SELECT t.id, {LEAD_FACTS.format(q="q")}
              FROM unnest({leads}) AS t(id)
              LEFT JOIN prm_qualification_entry q ON q.lead_id = t.id
          GROUP BY t.id) f
     WHERE l.id = f.id;
    """


def won_at(lead, kept="NULL"):
    """SQL of :data:`WON_AT` for the lead row `lead`.

    >>> won_at("NEW")
    'CASE WHEN COALESCE(NEW.active AND NEW.probability = 100, false) THEN \
COALESCE(NEW.date_closed, NULL, NEW.write_date) END'
    """
    return WON_AT.format(won=WON.format(l=lead), l=lead, kept=kept)


FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION prm_move_lead_won() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    lead_company integer;
BEGIN
    SELECT {won_at("l")}, l.company_id INTO NEW.lead_won_at, lead_company
      FROM crm_lead l WHERE l.id = NEW.lead_id;
    NEW.company_id := COALESCE(NEW.company_id, lead_company);
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION prm_lead_won_at_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE prm_qualification_entry SET lead_won_at = {won_at("NEW")}
     WHERE lead_id = NEW.id AND lead_won_at IS DISTINCT FROM {won_at("NEW")};
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION prm_moves_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    touched integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(SELECT DISTINCT lead_id FROM prm_new_moves);
    ELSIF TG_OP = 'DELETE' THEN
        touched := ARRAY(SELECT DISTINCT lead_id FROM prm_old_moves);
    ELSE
        touched := ARRAY(
            SELECT DISTINCT unnest(ARRAY[o.lead_id, n.lead_id])
              FROM prm_old_moves o JOIN prm_new_moves n ON n.id = o.id
             WHERE (o.lead_id, o.to_state, o.date)
                   IS DISTINCT FROM (n.lead_id, n.to_state, n.date));
    END IF;
    IF touched <> '{{}}' THEN
        {_lead_facts_update("touched")}
    END IF;
    RETURN NULL;
END $$;
"""

TRIGGERS = (
    ("prm_move_lead_won", "prm_qualification_entry",
     "BEFORE INSERT OR UPDATE OF lead_id",
     "FOR EACH ROW EXECUTE FUNCTION prm_move_lead_won()"),
    ("prm_lead_won_at", "crm_lead", "AFTER UPDATE OF active, probability, date_closed",
     f"FOR EACH ROW WHEN ({WON.format(l='OLD')} IS DISTINCT FROM {WON.format(l='NEW')}"
     " OR OLD.date_closed IS DISTINCT FROM NEW.date_closed) "
     "EXECUTE FUNCTION prm_lead_won_at_changed()"),
) + statement_triggers(
    "prm_moves", "prm_qualification_entry", "prm_moves_changed",
    "prm_old_moves", "prm_new_moves",
)  # fmt: skip


def create_sql():
    """The functions and the triggers (idempotent)."""
    return SQL(f"{FUNCTIONS}\n{triggers_sql(TRIGGERS)}")


def sync_sql():
    """The facts computed again for every move and lead (and a move's
    missing company taken from its lead); only what differs is written."""
    fresh = won_at("l", kept="q.lead_won_at")
    return SQL(
        f"""
        UPDATE prm_qualification_entry q
           SET lead_won_at = {fresh}, company_id = COALESCE(q.company_id, l.company_id)
          FROM crm_lead l
         WHERE l.id = q.lead_id
           AND (q.lead_won_at IS DISTINCT FROM {fresh}
                OR (q.company_id IS NULL AND l.company_id IS NOT NULL));
        WITH fresh AS (
            SELECT q.lead_id, {LEAD_FACTS.format(q="q")}
              FROM prm_qualification_entry q GROUP BY q.lead_id
        )
        UPDATE crm_lead l
           SET prm_qualified_on = f.qualified_on, prm_accepted = f.accepted
          FROM crm_lead o LEFT JOIN fresh f ON f.lead_id = o.id
         WHERE o.id = l.id
           AND (o.prm_qualified_on IS NOT NULL OR o.prm_accepted IS NOT NULL
                OR f.lead_id IS NOT NULL)
           AND (o.prm_qualified_on, o.prm_accepted)
               IS DISTINCT FROM (f.qualified_on, f.accepted);
        """
    )


DROP = f"""
{drop_triggers_sql(TRIGGERS)}
DROP FUNCTION IF EXISTS prm_move_lead_won();
DROP FUNCTION IF EXISTS prm_lead_won_at_changed();
DROP FUNCTION IF EXISTS prm_moves_changed();
"""
