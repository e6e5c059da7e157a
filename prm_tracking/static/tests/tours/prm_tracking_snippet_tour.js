/** @odoo-module */
// Copyright 2026 PRM for Odoo
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

// A site owner opens a tracking site: its snippet is code, line by line, with
// a button to copy it.
registry.category("web_tour.tours").add("prm_tracking_snippet_tour", {
    steps: () => [
        {
            trigger: ".o_field_widget[name=snippet] .o_prm_code pre:contains(prm('page');)",
            content: "The snippet is shown as code",
            run() {
                const text = document.querySelector(".o_prm_code pre").textContent;
                if (text.split("\n").length < 4 || !text.startsWith("<script>")) {
                    throw new Error("the snippet lost its lines");
                }
            },
        },
        {
            trigger: ".o_field_widget[name=snippet] .o_prm_code_copy",
            content: "It has a copy button",
        },
    ],
});
