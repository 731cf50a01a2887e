"""What made a final scan: the reco algorithm, whether it is a reconstruction, and its region method.

The scan result says it when skyscan made it (``metadata.reco_algo``, ``reco_kind``,
``region_method``: each skyscan reco declares them); SkyDriver's results do not, so the scan's plan
entry declares them (:data:`skymist.reco_plans.KNOWN_RECOS`). Where the two disagree the cautious
answer wins: an approximation by either account is an approximation. A scan that nobody describes is an
approximation too, so nothing is published automatically unless a reconstruction made it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from skymist.skymap.model import ScanMetadata

RecoKind = Literal["reconstruction", "approximation"]

#: what a public text says an approximation is, by algorithm (the Circular, notice and VOEvent)
_NOT_A_FIT = "; not a reconstruction of the detector data"
APPROXIMATION_WORDS: dict[str, str] = {
    "online_gaussian": "a region around the online direction sized from how far IceCube's online positions"
    " lay from its published offline positions for 47 public Gold/Bronze alerts of 2019-2022; its 90%"
    " region held the offline position of 21 of 23 further alerts" + _NOT_A_FIT,
    "dummy": "random values for exercising the scan lifecycle" + _NOT_A_FIT,
    "crash_dummy": "random values for exercising the scan lifecycle" + _NOT_A_FIT,
    "pandel_mpe": "a fit of the event's pulses whose 90% regions held 88% of simulated events, checked"
    " on only two real alerts",
}


@dataclass(frozen=True)
class RecoIdentity:
    """The algorithm behind a localization and what it is."""

    algo: str  # e.g. splinempe, online_gaussian; "unknown" when nothing says
    kind: RecoKind
    region_method: str | None  # threshold set name the reco declares (None: the setting decides)
    source: str  # where it was learnt: "result metadata", "plan entry", both, or "nothing"

    @property
    def approximation(self) -> bool:
        return self.kind != "reconstruction"

    @property
    def words(self) -> str:
        """One phrase for public texts: ``online_gaussian (an approximation: a Gaussian ...)``."""
        if not self.approximation:
            return f"{self.algo} (a reconstruction of the event's detector data)"
        unknown = "no reconstruction of the event's detector data" + _NOT_A_FIT
        what = APPROXIMATION_WORDS.get(self.algo, unknown)
        return f"{self.algo} (an approximation: {what})"

    def warning(self) -> str | None:
        """The shifters' warning about an approximation (None for a reconstruction)."""
        if not self.approximation:
            return None
        return (
            f"{self.algo} is an approximation, not a reconstruction: its products are held for approval "
            "and are not a refined direction"
        )


def identify(result: ScanMetadata, plan: Mapping[str, Any] | None) -> RecoIdentity:
    """The reco identity from the result's metadata and the scan's plan entry (either may be silent)."""
    plan = plan or {}
    algo = result.reco_algo or plan.get("reco_algo") or "unknown"
    kinds = [k for k in (result.reco_kind, plan.get("reco_kind")) if k is not None]
    kind: RecoKind = (
        "reconstruction" if kinds and all(k == "reconstruction" for k in kinds) else "approximation"
    )
    method = result.region_method or plan.get("region_method")
    sources = [
        name
        for name, said in (
            ("result metadata", result.reco_kind is not None or result.reco_algo is not None),
            ("plan entry", bool(plan)),
        )
        if said
    ]
    return RecoIdentity(algo, kind, method, " and ".join(sources) or "nothing")
