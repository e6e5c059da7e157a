/** @odoo-module */
// Copyright 2026 PRM for Odoo
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

// A salesperson opens a lead qualified by the rules, reads why it scores what
// it scores, and rejects it with a reason (data built by the Python test).
registry.category("web_tour.tours").add("prm_scoring_lead_tour", {
    steps: () => [
        {
            trigger: ".o_form_view .o_notebook_headers a[name=prm_score]",
            content: "Open the Score tab",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=prm_score_explanation] tr:contains('Has phone'):contains('+80.00')",
            content: "The rule that gives the points",
        },
        {
            trigger: ".o_field_widget[name=prm_score_explanation] tfoot:contains('80.00')",
            content: "The contributions add up to the score",
        },
        {
            trigger: ".o_field_widget[name=prm_qualification]:contains('Qualified')",
            content: "Qualified by the rules",
        },
        {
            trigger: ".o_field_widget[name=prm_qualification_rule_id]:contains('Hot to sales')",
            content: "The rule that qualified it",
        },
        {
            trigger: "button[name=action_prm_reject]",
            content: "Reject the lead",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=reason] textarea",
            content: "Say why",
            run: "edit Student, no budget",
        },
        {
            trigger: ".modal button[name=action_reject]",
            content: "Confirm",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal)) .o_field_widget[name=prm_qualification]:contains('Rejected')",
            content: "The lead is rejected",
        },
    ],
});
