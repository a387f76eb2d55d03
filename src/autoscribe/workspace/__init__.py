"""The reading workspace: temporary access links, the viewer's image endpoint, the report pane."""
