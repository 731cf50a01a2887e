"""What the data center gets to watch the daemon: Prometheus alert rules (checked and unit-tested by
Prometheus' own promtool) and a Grafana dashboard, both using only metrics the daemon exports (read
from the exporter's registry, not from a list kept here)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from skymist.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "skymist-rules.yml"
RULES_TEST = DEPLOY / "prometheus" / "skymist-rules.test.yml"
DASHBOARD = DEPLOY / "grafana" / "skymist.json"
#: series Prometheus makes itself for every target (not the daemon's)
PROMETHEUS_OWN = frozenset({"up"})
#: the sample names each kind of metric family exposes
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}


def exported() -> set[str]:
    """Every series name the daemon's /metrics can carry, from its registry."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


def referenced(expr: str) -> set[str]:
    return set(re.findall(r"\b(skymist_[a-z0-9_]+)", expr))


def dashboard_queries() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    queries += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return queries


def rule_expressions() -> list[str]:
    """The ``expr:`` of every rule (one line each; promtool checks the file's YAML and PromQL)."""
    return re.findall(r"^\s+expr: (.+)$", RULES.read_text(), re.M)


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_metric_queried_is_one_the_daemon_exports(source: str) -> None:
    queries = rule_expressions() if source == "rules" else dashboard_queries()
    assert queries
    known = exported()
    assert "skymist_outbox_rows" in known and "skymist_notice_latency_seconds_bucket" in known
    for expr in queries:
        names = referenced(expr)
        own = {n for n in PROMETHEUS_OWN if re.search(rf"\b{n}\{{", expr)}
        assert names or own, f"{source}: {expr!r} queries none of the daemon's metrics"
        unknown = names - known
        assert not unknown, f"{source}: {expr!r} uses {sorted(unknown)}, which the daemon does not export"


def test_the_dashboard_is_a_grafana_dashboard() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["targets"] and {"x", "y", "w", "h"} <= set(panel["gridPos"]), panel["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
    assert {v["name"] for v in dashboard["templating"]["list"]} == {"datasource", "job"}


def _promtool() -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus; .ci/run installs it)")
    return promtool


def test_promtool_checks_the_rules() -> None:
    done = subprocess.run([_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def test_the_rules_fire_as_their_unit_tests_say() -> None:
    done = subprocess.run(
        [_promtool(), "test", "rules", RULES_TEST.name], capture_output=True, text=True, cwd=RULES_TEST.parent
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr
