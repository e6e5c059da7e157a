/** @odoo-module */
// Copyright 2026 PRM for Odoo
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

function funnelValues(selector) {
    const canvas = document.querySelector(`${selector} .o_field_widget[name=funnel_chart] canvas`);
    const chart = canvas && window.Chart && window.Chart.getChart(canvas);
    if (!chart) {
        throw new Error("the funnel is not drawn");
    }
    return chart.data.datasets.map((dataset) => dataset.values);
}

// From CRM > Reporting: the funnel analysis of the last twelve months, then the
// what-if simulator with an absolute lift (the data is built by the Python test:
// 4 leads, 2 qualified, 1 won).
registry.category("web_tour.tours").add("prm_funnel_whatif_tour", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            trigger: ".o_app[data-menu-xmlid='crm.crm_menu_root']",
            content: "Open CRM",
            run: "click",
        },
        {
            trigger: '.dropdown-toggle[data-menu-xmlid="crm.crm_menu_report"]',
            content: "Open the Reporting menu",
            run: "click",
        },
        {
            trigger:
                '.dropdown-item[data-menu-xmlid="prm_funnel.prm_funnel_analysis_menu"]',
            content: "Open the funnel analysis",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=line_ids] .o_data_row:contains('Qualified')",
            content: "The stage table is there",
        },
        {
            trigger: ".o_field_widget[name=end_to_end]:contains('25.00')",
            content: "1 lead won out of 4",
        },
        {
            trigger: ".o_field_widget[name=funnel_chart] canvas",
            content: "The funnel is drawn: 4 leads in, 1 won",
            run() {
                const [leads] = funnelValues(".o_form_view");
                if (leads[0] !== 4 || leads[leads.length - 1] !== 1) {
                    throw new Error(`unexpected funnel ${leads}`);
                }
            },
        },
        {
            trigger: "button[name=action_what_if]",
            content: "Open the what-if simulator",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=measured]:contains('25.00')",
            content: "The simulator starts from the measured conversion",
        },
        {
            trigger: ".modal .o_field_widget[name=lift_kind] input[data-value=absolute]",
            content: "Lift in percentage points",
            run: "click",
        },
        {
            trigger: ".modal .alert-info:contains('Absolute lift')",
            content: "The simulator says which kind of lift it applies",
        },
        {
            trigger: ".modal .o_field_widget[name=lift_high] input",
            content: "+10 points on every stage",
            run: "edit 10 && click .modal .o_field_widget[name=entrants]",
        },
        {
            trigger: ".modal .o_field_widget[name=projected_high]:contains('36.00')",
            content: "60 % x 60 % = 36 %",
        },
        {
            trigger: ".modal .o_field_widget[name=wins_high]:contains('1.44')",
            content: "4 leads x 36 % = 1.44 wins",
        },
        {
            trigger: ".modal .o_field_widget[name=funnel_chart] canvas",
            content: "The high scenario is drawn over the measured funnel",
            run() {
                const [measured, , high] = funnelValues(".modal");
                const won = (values) => Math.round(values[values.length - 1] * 100) / 100;
                if (won(measured) !== 1 || won(high) !== 1.44) {
                    throw new Error(`unexpected what-if funnel ${measured} / ${high}`);
                }
            },
        },
        {
            trigger: ".modal button:contains(Close)",
            content: "Close the simulator",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
            content: "Back on the analysis",
        },
    ],
});
