"""``skymist check``: health of the installation as a Nagios/Icinga plugin (exit 0/1/2/3)."""

from __future__ import annotations

import argparse
import sys

from skymist.cli.common import (
    NEVER_SHOWN,
    SubParsers,
    UserError,
    opened_app,
    print_json,
    run_guarded,
    settings_from,
)
from skymist.runtime.check_names import CHECK_NAMES


def _check(args: argparse.Namespace) -> int:
    from skymist.runtime.checks import Probe, nagios_line, overall, run_checks

    names = _named_checks(args.only)
    settings_problem = _settings_problem(args)
    if settings_problem is not None:  # Nagios: a plugin that cannot run is UNKNOWN
        print(f"SKYMIST UNKNOWN - {settings_problem}")
        return 3
    # the store may be down: that is a CRITICAL of the store check, not a command error
    with opened_app(args, check_schema=False) as app:
        probe = Probe(app)
        try:
            results = run_checks(probe, names)
        finally:
            probe.close()
    status = overall(results)
    if args.json:
        print_json({"status": status.name, "code": int(status), "checks": [r.to_dict() for r in results]})
    else:
        print(nagios_line(results))
        if args.verbose:
            for r in results:
                print(f"  {r.status.name:<8} {r.name:<13} {r.summary}", file=sys.stdout)
    return int(status)


def _named_checks(only: str | None) -> list[str] | None:
    """The checks ``--only`` names (None: all of them); an unknown name is a user error."""
    if not only:
        return None
    names = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in names if name not in CHECK_NAMES]
    if unknown or not names:
        raise UserError(
            f"--only {only!r}: unknown check {', '.join(map(repr, unknown)) or '(none named)'}; "
            f"known: {', '.join(CHECK_NAMES)}"
        )
    return names


def _settings_problem(args: argparse.Namespace) -> str | None:
    """Why the settings cannot be read, on one line (secrets never shown), or None."""
    from pydantic import ValidationError

    from skybase.setting_limits import error_line
    from skybase.settings import SettingsFileError, SettingsValueError
    from skymist.config import Settings

    try:
        settings_from(args)
    except SettingsFileError as exc:
        return f"settings: {' '.join(str(exc).split())}"
    except SettingsValueError as exc:
        return " ".join(str(exc).split())
    except ValidationError as exc:
        return " ".join(error_line(exc, Settings, hidden=NEVER_SHOWN).split())
    return None


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "check",
        help="health checks (Nagios/Icinga plugin: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)",
        description=(
            "Run the health checks and print one summary line with perfdata "
            "(`SKYMIST CRITICAL - broker: ... | lag=0;100;1000 ...`). Checks: "
            + ", ".join(CHECK_NAMES)
            + ". Thresholds are the check_* and heartbeat_* settings (see `skymist config`)."
        ),
    )
    parser.add_argument("--json", action="store_true", help="one JSON document with every check")
    parser.add_argument("--only", metavar="LIST", help="comma-separated checks to run (default: all)")
    parser.add_argument("-v", "--verbose", action="store_true", help="one more line per check")
    # its settings errors are UNKNOWN (exit 3) on stdout, as a Nagios plugin's
    parser.set_defaults(handler=run_guarded(_check), checks_own_settings=True)
