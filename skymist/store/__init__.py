"""The store: SQLAlchemy 2 models, engine/session factory and the helpers that claim work rows."""
