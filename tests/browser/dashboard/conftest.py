"""The dashboard tests' fixtures (tests/dashboard/conftest.py), for the dashboard in a browser."""

from tests.dashboard.conftest import guarded_server, receivers  # noqa: F401
