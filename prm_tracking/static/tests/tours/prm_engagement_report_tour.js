/** @odoo-module */
// Copyright 2026 PRM for Odoo
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

// CRM > Reporting > Engagement: the graph opens, then the pivot lists the
// event types the user may see (the test says which ones it expects).
function engagementSteps(expected, hidden) {
    return [
        {
            trigger: ".o_graph_view .o_graph_canvas_container canvas",
            content: "The engagement graph is drawn",
        },
        {
            trigger: "button.o_switch_view.o_pivot",
            content: "Switch to the pivot",
            run: "click",
        },
        {
            trigger: `.o_pivot table .o_pivot_header_cell_closed:contains(${expected}), .o_pivot table th:contains(${expected})`,
            content: `The pivot counts ${expected}`,
            run() {
                const rows = [...document.querySelectorAll(".o_pivot table th")].map(
                    (th) => th.textContent
                );
                if (hidden && rows.some((text) => text.includes(hidden))) {
                    throw new Error(`${hidden} is counted for a user who may not see it`);
                }
            },
        },
    ];
}

registry.category("web_tour.tours").add("prm_engagement_report_manager_tour", {
    steps: () => engagementSteps("Email open", null),
});
registry.category("web_tour.tours").add("prm_engagement_report_salesman_tour", {
    steps: () => engagementSteps("Page view", "Email open"),
});
