"""Running Alembic from inside the package, so `autoscribe migrate` works wherever it is installed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from autoscribe.config import get_settings
from autoscribe.private_files import private_dir

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", get_settings().effective_database_url.replace("%", "%%"))
    return cfg


def upgrade(revision: str = "head") -> None:
    settings = get_settings()
    if settings.is_sqlite:
        private_dir(settings.data_dir)
    command.upgrade(alembic_config(), revision)


def revision(message: str) -> None:
    """Developer helper: autogenerate a migration from the models."""
    command.revision(alembic_config(), message=message, autogenerate=True)
