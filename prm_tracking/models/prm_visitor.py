# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class PrmVisitor(models.Model):
    """A browser known by its first-party cookie, anonymous until it identifies."""

    _name = "prm.visitor"
    _description = "PRM Visitor"
    _order = "last_seen desc, id desc"
    _rec_name = "token"
    _check_company_auto = True

    # token and site are indexed by the unique (site_id, token) constraint;
    # no index on last_seen, which every hit rewrites: updates stay HOT
    token = fields.Char(required=True, readonly=True)
    site_id = fields.Many2one(
        "prm.tracking.site", required=True, ondelete="cascade", readonly=True
    )
    partner_id = fields.Many2one(
        "res.partner", ondelete="set null", index="btree_not_null"
    )
    lead_id = fields.Many2one(
        "crm.lead", ondelete="set null", index="btree_not_null", check_company=True
    )
    claimed_email = fields.Char(
        readonly=True,
        help="The email this browser gave without a valid identity signature: "
        "kept as said, never used to reach a person.",
    )
    link_verified = fields.Boolean(
        readonly=True,
        help="Linked by a signed (or trusted) identity; an unsigned sign-up's "
        "link is dropped when its lead gets verified.",
    )
    linked_at = fields.Datetime(
        readonly=True,
        index="btree_not_null",
        help="When the visitor was last linked to a person.",
    )
    do_not_track = fields.Boolean(
        readonly=True,
        default=False,
        help="Set when its person was forgotten: its hits are dropped.",
    )
    first_seen = fields.Datetime(readonly=True)
    last_seen = fields.Datetime(readonly=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        readonly=True,
        default=lambda self: self.env.company,
    )
    event_ids = fields.One2many("prm.event", "visitor_id")

    _sql_constraints = [
        (
            "token_site_unique",
            "unique(site_id, token)",
            "A visitor token is unique per site.",
        ),
    ]
