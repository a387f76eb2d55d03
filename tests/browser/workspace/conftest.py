"""The workspace tests' fixtures (tests/workspace/conftest.py), for the workspace pages in a browser."""

from tests.workspace.conftest import (  # noqa: F401
    integration,
    pacs,
    pacs_server,
    receiver,
    series,
    ws_page,
    ws_server,
)
