"""The Viewer product: its API over the study, user and link services."""
