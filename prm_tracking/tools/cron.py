# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Helpers of the batched jobs."""

import threading


def commit_cron_batch(env):
    """Commit between batches of a running cron job (never in tests, never when
    the method is called from elsewhere, e.g. during an install)."""
    if env.context.get("ir_cron_progress_id") and not getattr(
        threading.current_thread(), "testing", False
    ):
        env.cr.commit()  # pylint: disable=invalid-commit
