/** @odoo-module */
// Copyright 2026 PRM for Odoo
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

function chartOf(fieldName) {
    const canvas = document.querySelector(`.o_field_widget[name=${fieldName}] canvas`);
    const chart = canvas && window.Chart && window.Chart.getChart(canvas);
    if (!chart) {
        throw new Error(`no chart drawn for ${fieldName}`);
    }
    return chart;
}

// A manager reads the model card: the verdict against Odoo's PLS, the
// reliability diagram and the lift chart, drawn with the trained numbers.
registry.category("web_tour.tours").add("prm_scoring_model_card_tour", {
    steps: () => [
        {
            trigger: ".o_field_widget[name=model_card] .alert:contains('predictive lead scoring')",
            content: "The verdict against Odoo's PLS, in words",
        },
        {
            trigger: ".o_field_widget[name=reliability_chart] canvas",
            content: "The reliability diagram is drawn",
            run() {
                const chart = chartOf("reliability_chart");
                const points = chart.data.datasets[1].data;
                if (points.length !== 10 || points.some((p) => p.y < 0 || p.y > 1)) {
                    throw new Error("the reliability diagram does not show ten groups");
                }
            },
        },
        {
            trigger: ".o_field_widget[name=lift_chart] canvas",
            content: "The lift chart is drawn",
            run() {
                const chart = chartOf("lift_chart");
                if (chart.data.labels.length !== 10 || !(chart.data.datasets[0].data[0] > 1)) {
                    throw new Error("the top decile should convert above the average");
                }
            },
        },
    ],
});

// A salesperson opens a lead: its engagement over time, and why it has its
// conversion probability.
registry.category("web_tour.tours").add("prm_scoring_lead_charts_tour", {
    steps: () => [
        {
            trigger: ".o_form_view .o_notebook_headers a[name=prm_engagement]",
            content: "Open the Engagement tab",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=prm_engagement_chart] canvas",
            content: "Events per day are drawn",
            run() {
                const chart = chartOf("prm_engagement_chart");
                const total = chart.data.datasets
                    .flatMap((d) => d.data)
                    .reduce((a, b) => a + b, 0);
                if (chart.data.labels.length !== 90 || total < 1) {
                    throw new Error("the engagement chart shows no event");
                }
            },
        },
        {
            trigger: ".o_form_view .o_notebook_headers a[name=prm_score]",
            content: "Open the Score tab",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=prm_probability_factors] tr:contains('×')",
            content: "What raises or lowers its probability",
        },
    ],
});
