# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from werkzeug.exceptions import RequestEntityTooLarge

from odoo import models
from odoo.http import request

from ..engine.events import MAX_BODY_BYTES

API_PREFIX = "/prm/api/"


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _handle_error(cls, exception):
        """The tracking API answers in JSON, also when Werkzeug refuses a body
        over the route's ``max_content_length`` before the controller runs."""
        if isinstance(
            exception, RequestEntityTooLarge
        ) and request.httprequest.path.startswith(API_PREFIX):
            return request.make_json_response(
                {
                    "error": "too_large",
                    "message": f"The body is larger than {MAX_BODY_BYTES} bytes.",
                },
                status=413,
            )
        return super()._handle_error(exception)
