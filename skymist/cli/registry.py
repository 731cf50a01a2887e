"""The list of command groups of the ``skymist`` CLI.

Each command group is a module with ``register(subparsers)`` that adds its parser and sets
``handler`` (a function ``(argparse.Namespace) -> int``) on every leaf parser.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Iterator

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

#: modules that define a ``register`` function, in the order ``skymist --help`` lists them
COMMAND_MODULES: tuple[str, ...] = (
    "skymist.cli.run_cmd",
    "skymist.cli.check_cmd",
    "skymist.cli.status_cmd",
    "skymist.cli.demo_cmd",
    "skymist.cli.replay_cmd",
    "skymist.cli.alerts_cmd",
    "skymist.cli.scans_cmd",
    "skymist.cli.scan_cmd",
    "skymist.cli.circular_cmd",
    "skymist.cli.retract_cmd",
    "skymist.cli.outbox_cmd",
    "skymist.cli.dead_letter_cmd",
    "skymist.cli.db_cmd",
    "skymist.cli.config_cmd",
    "skymist.cli.skymap_cmd",
    "skymist.cli.archive_cmd",
    "skymist.cli.catalogue_cmd",
    "skymist.cli.localize_cmd",
    "skymist.cli.console_cmd",
)


def command_groups() -> Iterator[Register]:
    for name in COMMAND_MODULES:  # a missing module is a packaging bug: it raises, never hides a command
        register: Register = importlib.import_module(name).register
        yield register
