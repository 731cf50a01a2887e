"""The parser class of the ``skyscan`` command and its subcommands: a mistake is one line.

argparse's own parser answers a bad option with its usage block and then the error; this one answers
with the error alone, naming the option and pointing at ``--help``, and exits with status 2 as argparse
does (the same rule as ``skymist``'s parser).
"""

from __future__ import annotations

import argparse
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line on stderr (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")
