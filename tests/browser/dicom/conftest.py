"""The workspace tests' browser pages (a fresh context each), for the archive viewing tests."""

from tests.workspace.conftest import ws_page  # noqa: F401
