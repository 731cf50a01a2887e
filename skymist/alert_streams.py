"""The public alert streams: GCN's pipeline name, the classic packet type, the AMON stream number,
the topology and title of each, and the IVORN of a revision (the alerts publish them, the archive
cites them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from skybase.times import voevent_time

STREAM_INFO: dict[str, dict[str, Any]] = {
    # pipeline name in GCN's schema, classic packet type, AMON stream number, topology, title
    "GOLD": {
        "pipeline": "Gold Track Alert",
        "packet_type": 173,
        "amon_stream": 24,
        "topology": "Track",
        "title": "Gold",
        "ivorn_tag": "GOLD",
    },
    "BRONZE": {
        "pipeline": "Bronze Track Alert",
        "packet_type": 174,
        "amon_stream": 25,
        "topology": "Track",
        "title": "Bronze",
        "ivorn_tag": "BRONZE",
    },
    "CASCADE": {
        "pipeline": "Cascade Alert",
        "packet_type": 176,
        "amon_stream": 26,
        "topology": "Shower",
        "title": "Cascade",
        "ivorn_tag": "Cascade",
    },
}


def ivorn_for(stream: str, event_time: dt.datetime, run_id: int, event_id: int, revision: int) -> str:
    info = STREAM_INFO[stream]
    return (
        f"ivo://nasa.gsfc.gcn/AMON#ICECUBE_{info['ivorn_tag']}_Event{voevent_time(event_time)}"
        f"_{info['amon_stream']}_{run_id}_{event_id:09d}_{revision}"
    )
