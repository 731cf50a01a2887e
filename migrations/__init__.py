"""Alembic migrations (installed as the package ``skymist_migrations``)."""
