/** @odoo-module **/
// Copyright 2026 PRM for Odoo
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
//
// A read-only text field shown as code (line breaks kept, monospace) with a
// button that copies it: the tracking site's snippet.
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { CopyButton } from "@web/core/copy_button/copy_button";
import { standardFieldProps } from "@web/views/fields/standard_field_props";
import { Component } from "@odoo/owl";

export class PrmCodeField extends Component {
    static template = "prm_tracking.PrmCodeField";
    static components = { CopyButton };
    static props = { ...standardFieldProps };

    get code() {
        return this.props.record.data[this.props.name] || "";
    }

    get copyText() {
        return _t("Copy");
    }

    get successText() {
        return _t("Copied");
    }
}

registry.category("fields").add("prm_code", {
    component: PrmCodeField,
    supportedTypes: ["text", "char"],
});
