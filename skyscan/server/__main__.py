"""``python -m skyscan.server serve ...``: the same command as ``skyscan serve``."""

from __future__ import annotations

import argparse
import sys

from skyscan.server import command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skyscan.server")
    sub = parser.add_subparsers(dest="command", required=True)
    command.register(sub)
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
