"""Logging set-up shared by the server and the worker commands."""

from __future__ import annotations

import logging

from autoscribe.config import get_settings


def configure_logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # httpx logs every request's full URL at INFO: presigned links and integrators' query
    # strings are secrets, so only its warnings are kept.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # WeasyPrint and fontTools narrate every step of every PDF at INFO.
    for chatty in ("weasyprint", "fontTools"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
