"""The daemon's jobs by name, with one line each (for ``skymist run --help`` and the logs).

Apart from the jobs themselves (:mod:`skymist.runtime.jobs`, which load the whole application) so
that ``skymist run --help`` lists them without loading anything.
"""

from __future__ import annotations

import enum


class JobName(enum.StrEnum):
    INGEST = "ingest"
    DISPATCH = "dispatch"
    SCANS = "scans"
    HANDOFF = "handoff"
    METRICS = "metrics"
    HEARTBEAT = "heartbeat"
    ARCHIVE = "archive"
    CONSOLE = "console"


#: one line per job, for ``--help`` and the logs
DESCRIPTIONS: dict[JobName, str] = {
    JobName.INGEST: "consume the realtime topics, record every message, run the handlers",
    JobName.DISPATCH: "send every queued product (Kafka, Slack, Circulars, files)",
    JobName.SCANS: "track the scans on the scanner backend",
    JobName.HANDOFF: "hand final scans to the skymap step (Rev 1 products)",
    JobName.METRICS: "keep the gauges and latency histograms up to date; tell shifters of outages",
    JobName.HEARTBEAT: "send a synthetic test alert every heartbeat_interval_s and read its notices back",
    JobName.ARCHIVE: "complete the archive records behind the store, regenerate the HTML catalogue",
    JobName.CONSOLE: "serve the shifters' web console on the daemon's HTTP port",
}
