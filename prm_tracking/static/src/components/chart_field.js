/** @odoo-module **/
// Copyright 2026 PRM for Odoo
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
//
// A read-only field widget drawing a Json field with Odoo's own Chart.js:
// the server sends a Chart.js configuration ({type, data, options}); the
// widget adds the look shared by PRM's charts and draws it.
import { loadBundle } from "@web/core/assets";
import { registry } from "@web/core/registry";
import { getColor } from "@web/core/colors/colors";
import { standardFieldProps } from "@web/views/fields/standard_field_props";
import { Component, onWillStart, useEffect, useRef } from "@odoo/owl";

export class PrmChartField extends Component {
    static template = "prm_tracking.PrmChartField";
    static props = { ...standardFieldProps, height: { type: Number, optional: true } };
    static defaultProps = { height: 260 };

    setup() {
        this.canvasRef = useRef("canvas");
        this.chart = null;
        onWillStart(() => loadBundle("web.chartjs_lib"));
        useEffect(
            () => {
                this.renderChart();
                return () => this.chart && this.chart.destroy();
            },
            () => [this.props.record.data[this.props.name]]
        );
    }

    get config() {
        const value = this.props.record.data[this.props.name];
        return value && value.data ? value : null;
    }

    renderChart() {
        if (this.chart) {
            this.chart.destroy();
            this.chart = null;
        }
        const config = this.config;
        if (!config || !this.canvasRef.el) {
            return;
        }
        const chartConfig = JSON.parse(JSON.stringify(config));
        chartConfig.data.datasets.forEach((dataset, index) => {
            const color = getColor(dataset.colorIndex ?? index + 1, "light", "odoo");
            dataset.borderColor ??= color;
            dataset.backgroundColor ??= dataset.type === "line" ? color : `${color}B3`;
            delete dataset.colorIndex;
        });
        chartConfig.options = Object.assign(
            { maintainAspectRatio: false, animation: false },
            chartConfig.options || {}
        );
        if (chartConfig.options.prmFunnel) {
            this.makeFunnel(chartConfig);
        }
        this.chart = new Chart(this.canvasRef.el, chartConfig);
    }

    /**
     * A funnel: horizontal bars centred on the axis, each as wide as its
     * value (datasets overlaid, the first one in front); tooltips give the
     * values themselves.
     */
    makeFunnel(chartConfig) {
        delete chartConfig.options.prmFunnel;
        chartConfig.options.indexAxis = "y";
        const count = chartConfig.data.datasets.length;
        chartConfig.data.datasets.forEach((dataset, index) => {
            dataset.values = dataset.data;
            dataset.data = dataset.data.map((v) => [-v / 2, v / 2]);
            dataset.grouped = false;
            dataset.order = index;
            dataset.barPercentage = 0.95;
            dataset.categoryPercentage = 1;
            if (index > 0) {
                // the scenarios behind the measured funnel, the nearer one darker
                dataset.backgroundColor = `${dataset.borderColor}${index === 1 && count > 2 ? "B3" : "66"}`;
            }
        });
        chartConfig.options.scales = {
            x: { display: false, stacked: false },
            y: { grid: { display: false } },
        };
        chartConfig.options.plugins = chartConfig.options.plugins || {};
        chartConfig.options.plugins.tooltip = {
            callbacks: {
                label: (item) =>
                    `${item.dataset.label}: ${Math.round(item.dataset.values[item.dataIndex] * 10) / 10}`,
            },
        };
    }
}

export const prmChartField = {
    component: PrmChartField,
    supportedTypes: ["json"],
    extractProps: ({ attrs }) => ({
        height: attrs.height ? parseInt(attrs.height, 10) : undefined,
    }),
};

registry.category("fields").add("prm_chart", prmChartField);
