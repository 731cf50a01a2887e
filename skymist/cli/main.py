"""Entry point of the ``skymist`` command: builds the parser from one module per command group.

Building the parser imports only the command modules, which import their heavy libraries (the
store, astropy, matplotlib, ...) inside their handlers: ``skymist --help`` starts at once. Before a
command runs, the settings are loaded and checked, whatever the command: a wrong value is one line
naming the setting, the value and what is allowed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from skymist.cli import registry
from skymist.cli.common import check_settings


class Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line (no usage block): what, and where to look."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="skymist",
        description=(
            "SkyMist: realtime alert handling for a neutrino observatory. The daemon (`skymist run`) "
            "consumes the realtime stream, records every event in the store and publishes the prompt "
            "notices; the other commands inspect, replay and repair."
        ),
        epilog="Configuration: SKYMIST_* variables or a TOML file (--config); see `skymist config`.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="TOML", help="settings file (default: $SKYMIST_CONFIG if set)")
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="store URL (overrides SKYMIST_DATABASE_URL), e.g. postgresql+psycopg://...",
    )
    parser.add_argument("--log-level", metavar="LEVEL", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        help="log lines on stderr as plain text or JSON (default: json for `run` and `console`, the "
        "services; text for every other command, whose error is one plain line)",
    )
    # not required=True: argparse would then answer an unknown option with "COMMAND is required"
    sub: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=Parser
    )
    for register in registry.command_groups():
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error("give a command, e.g. `skymist status` (see `skymist --help` for the list)")
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.error(f"{args.command}: choose a sub-command (see `skymist {args.command} --help`)")
    if not getattr(args, "checks_own_settings", False):
        failed = check_settings(args)
        if failed:
            return failed
    result: int = handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
