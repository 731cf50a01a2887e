"""What each known reconstruction is, apart from the reco plans (:mod:`skymist.reco_plans`, which load
pydantic and the scanner client) so that ``skymist localize --help`` lists them at once."""

from __future__ import annotations

from typing import Literal

RecoKind = Literal["reconstruction", "approximation"]
RegionMethod = Literal["wilks", "calibrated", "pandel_mpe", "hpd"]

#: what each known ``reco_algo`` is and the threshold set of its regions. SkyDriver's results do not say
#: it (skyscan's do), so the plan declares it: IceCube's scanner recos fit the detector data and their
#: realtime regions use the thresholds calibrated on simulation (millipede_wilks: Wilks'). skyscan's
#: ``pandel_mpe`` fits the event's pulses with its own thresholds (skyscan calibrate; its 90% regions hold
#: 88% of held-out simulated events), but it is checked on only two real alerts, and it is not closer than
#: the online SplineMPE to the published refined position on both: its Rev 1 waits for a human, named an
#: approximation. skyscan's ``online_gaussian`` and the dummies fit nothing. An algorithm not listed is
#: an approximation unless its plan entry says otherwise.
KNOWN_RECOS: dict[str, tuple[RecoKind, RegionMethod]] = {
    "splinempe": ("reconstruction", "calibrated"),
    "splinempe_pointed": ("reconstruction", "calibrated"),
    "millipede_original": ("reconstruction", "calibrated"),
    "millipede_wilks": ("reconstruction", "wilks"),
    "pandel_mpe": ("approximation", "pandel_mpe"),
    "online_gaussian": ("approximation", "wilks"),
    "dummy": ("approximation", "wilks"),
    "crash_dummy": ("approximation", "wilks"),
}
