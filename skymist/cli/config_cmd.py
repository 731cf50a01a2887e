"""``skymist config``: every setting, its current value (secrets masked), what it allows and what it
does."""

from __future__ import annotations

import argparse
import textwrap

from skymist.cli.common import SubParsers, print_json, run_guarded, settings_from


def _show(args: argparse.Namespace) -> int:
    from skymist.config import Settings, describe_settings

    if args.example:
        from skymist.runtime.example_config import example_toml

        print(example_toml(), end="")
        return 0
    rows = describe_settings(settings_from(args))
    if args.json:
        print_json(
            [
                {
                    "name": n,
                    "env": f"SKYMIST_{n.upper()}",
                    "value": v,
                    "allowed": Settings.allowed(n),
                    "doc": d,
                }
                for n, v, d in rows
            ]
        )
        return 0
    for name, value, doc in rows:
        print(f"{name} (SKYMIST_{name.upper()}) = {value}")
        print(textwrap.indent(textwrap.fill(f"allowed: {Settings.allowed(name)}", 100), "    "))
        print(textwrap.indent(textwrap.fill(doc, 100), "    "))
    return 0


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "config",
        help="show every setting with its value and documentation",
        description="Settings come from SKYMIST_* environment variables and an optional TOML file "
        "(--config or SKYMIST_CONFIG); this lists them all with what each allows (checked whenever "
        "any command loads them), secrets masked.",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument(
        "--example",
        action="store_true",
        help="print the complete example settings file (deploy/skymist.toml.example) instead",
    )
    parser.set_defaults(handler=run_guarded(_show))
