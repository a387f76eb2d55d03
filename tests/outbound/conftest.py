"""Outbound tests call the local webhook receivers the webhook tests use."""

from tests.webhooks.conftest import receivers

__all__ = ["receivers"]
