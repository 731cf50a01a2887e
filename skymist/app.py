"""The application object: everything a command needs, opened from settings (nothing at import).

:func:`open_app` opens the platform (store, with the record of trouble kept in every transaction,
renderer, metrics, an empty set of outbox hooks);
:func:`skymist.runtime.assembly.build_app` is what commands use: it also wires the alert lifecycle in
(:mod:`skymist.runtime.lifecycle`: message handlers, outbox hooks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from skymist.config import Settings
from skymist.message_handlers import HandlerRegistry
from skymist.metrics import Metrics
from skymist.outbox.hooks import OutboxHooks
from skymist.rendering import Renderer
from skymist.store.db import code_revision, current_revision, make_engine, make_sessionmaker
from skymist.trouble_record import watch


class SchemaNotCurrentError(RuntimeError):
    """The store's schema is older than this code: run ``skymist db upgrade``."""


@dataclass
class App:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    renderer: Renderer
    metrics: Metrics
    outbox_hooks: OutboxHooks = field(default_factory=OutboxHooks)
    #: which function handles each kind of parsed message (registered by the alert lifecycle)
    message_handlers: HandlerRegistry = field(default_factory=HandlerRegistry)

    def close(self) -> None:
        self.engine.dispose()

    def require_current_schema(self) -> None:
        head = code_revision(self.engine)
        current = current_revision(self.engine)
        if current != head:
            raise SchemaNotCurrentError(
                f"the store's schema is at revision {current or 'none'}, this code needs {head}: "
                "run `skymist db upgrade`"
            )


def open_app(settings: Settings) -> App:
    """The platform alone: store, renderer, metrics; no domain hooks or message handlers registered."""
    engine = make_engine(settings.database_url.get_secret_value())
    sessions = make_sessionmaker(engine)
    watch(sessions, settings.handoff_max_attempts)  # the record of trouble, in the same transactions
    return App(
        settings=settings,
        engine=engine,
        sessions=sessions,
        renderer=Renderer(),
        metrics=Metrics(),
    )
