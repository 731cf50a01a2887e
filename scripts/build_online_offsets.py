"""Build ``skyscan/data/online_offsets_gcn.csv``: how far IceCube's online fits lie from its refined ones.

The calibration sample of ``online_gaussian`` (see ``skyscan/online_calibration.py``). Each row is one
public IceCube Gold/Bronze track alert: the Revision 0 GCN notice (the online SplineMPE position and its
90% error radius) and the refined position published afterwards (the Revision 1 notice, or the GCN
Circular). Two public archives of the GCN AMON notices hold both, read from local git clones:

- ``icecube/NuCat`` (IceCube's own notice-and-circular browser): ``client/src/testdb.js``, every notice
  and circular of each alert up to August 2020, with the Rev 0 error radius;
- ``rmorgan10/AlertMonitoring`` (a follow-up monitor): one ``IC<date><letter>_<rev>/README.md`` per
  notice revision, September 2020 to May 2022, with the position and the 90% area (of the circle, for
  Rev 0: the error radius is sqrt(area / pi)).

Run (no network: the two repositories are local git directories)::

    python scripts/build_online_offsets.py NUCAT_GIT_DIR ALERTMONITORING_GIT_DIR \
        > skyscan/data/online_offsets_gcn.csv
"""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skyscan.online_calibration import SAMPLE_COLUMNS

NUCAT_FILE = "client/src/testdb.js"
_TITLE = re.compile(r"^# (IC\d{6}[A-Z]) \((\d+)_(\d+)\)", re.MULTILINE)
_ROW = re.compile(
    r"^\| (\d) \| (GOLD|BRONZE) \| [^|]+\| ([0-9.]+) \| ([0-9.]+) \| [0-9.]+ \| ([0-9.]+) \|", re.MULTILINE
)
_POSITION = re.compile(r"\(ra, dec\) = \(([-0-9.]+), ([-0-9.]+)\)")
_README = re.compile(r"^(IC\d{6}[A-Z])_(\d)/README.md$")


@dataclass(frozen=True)
class Row:
    name: str
    run_id: str
    event_id: str
    stream: str
    energy_tev: str
    signalness: str
    rev0_ra_deg: float
    rev0_dec_deg: float
    rev0_err90_deg: float
    refined_ra_deg: float
    refined_dec_deg: float
    refined_from: str
    source: str
    source_commit: str


def _git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def nucat_rows(repo: str) -> list[Row]:
    commit = _git(repo, "rev-parse", "HEAD").strip()
    text = _git(repo, "show", f"HEAD:{NUCAT_FILE}")
    alerts = json.loads(text[text.index("[") : text.rindex("]") + 1])
    rows: list[Row] = []
    for alert in alerts:
        stream = str((alert.get("Type") or [""])[0]).upper()
        if stream not in ("GOLD", "BRONZE"):
            continue  # HESE / EHE streams before June 2019: another selection and another online fit
        entries = list(
            zip(alert["Pub Type"], alert["RA"], alert["Dec"], alert["RA 90%"], alert["Link"], strict=False)
        )
        notices = [e for e in entries if e[0] == "Notice" and "notices_amon_g_b" in e[4]]
        circulars = [e for e in entries if "gcn3" in e[4]]
        if not notices:
            continue
        rev0 = notices[0]
        ra0, dec0 = _number(rev0[1]), _number(rev0[2])
        err0 = _number(rev0[3].split()[0].lstrip("+"))
        refined = None
        for kind, candidates in (("circular", circulars), ("rev1_notice", notices[1:][-1:])):
            for entry in candidates:
                ra, dec = _number(entry[1]), _number(entry[2])
                if ra is not None and dec is not None:
                    refined = (kind, ra, dec)
                    break
            if refined:
                break
        if refined is None or ra0 is None or dec0 is None or err0 is None:
            continue
        run_event = rev0[4].rsplit("/", 1)[1].removesuffix(".amon").split("_")
        rows.append(
            Row(
                alert["_id"],
                run_event[0],
                run_event[1],
                stream,
                str((alert.get("Energy") or [""])[0]),
                "",
                ra0,
                dec0,
                err0,
                refined[1],
                refined[2],
                refined[0],
                f"github:icecube/NuCat:{NUCAT_FILE}",
                commit,
            )
        )
    return rows


def alertmonitoring_rows(repo: str) -> list[Row]:
    commit = _git(repo, "rev-parse", "HEAD").strip()
    revisions: dict[str, dict[int, tuple[str, str, str, str, str, float, float, float]]] = {}
    for path in _git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines():
        match = _README.match(path)
        if match is None:
            continue
        text = _git(repo, "show", f"HEAD:{path}")
        title, row, position = _TITLE.search(text), _ROW.search(text), _POSITION.search(text)
        if title is None or row is None or position is None:
            continue
        revision = int(row.group(1))
        revisions.setdefault(match.group(1), {})[revision] = (
            title.group(2),
            title.group(3),
            row.group(2),
            row.group(3),
            row.group(4),
            float(position.group(1)),
            float(position.group(2)),
            float(row.group(5)),
        )
    rows: list[Row] = []
    for short, by_rev in sorted(revisions.items()):
        if 0 not in by_rev or len(by_rev) < 2:
            continue
        run, event, stream, energy, signalness, ra0, dec0, area0 = by_rev[0]
        last = by_rev[max(by_rev)]
        rows.append(
            Row(
                "IceCube-" + short[2:],
                run,
                event,
                stream,
                energy,
                signalness,
                ra0,
                dec0,
                round(math.sqrt(area0 / math.pi), 4),
                last[5],
                last[6],
                f"rev{max(by_rev)}_notice",
                "github:rmorgan10/AlertMonitoring:IC*_<rev>/README.md",
                commit,
            )
        )
    return rows


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: build_online_offsets.py NUCAT_GIT_DIR ALERTMONITORING_GIT_DIR", file=sys.stderr)
        return 2
    rows = nucat_rows(argv[1]) + alertmonitoring_rows(argv[2])
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(SAMPLE_COLUMNS)
    for row in sorted(rows, key=lambda r: (int(r.run_id), int(r.event_id))):
        writer.writerow([getattr(row, column) for column in SAMPLE_COLUMNS])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
