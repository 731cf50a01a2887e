"""Reconstruction algorithms by name (``reco_algo``): the registry, and the interface in :mod:`.base`.

Modules are imported on first lookup, so importing this package loads no algorithm.
"""

from __future__ import annotations

import importlib

from skyscan.recos.base import RECO_KINDS, PixelFit, PixelSeed, Reco, RecoKind, RecoOptionError, Vertex

#: reco_algo -> "module:class"
RECO_ALGORITHMS: dict[str, str] = {
    "dummy": "skyscan.recos.dummy:DummyReco",
    "online_gaussian": "skyscan.recos.online_gaussian:OnlineGaussianReco",
    "pandel_mpe": "skyscan.recos.pandel_mpe:PandelMPEReco",
    "table_mpe": "skyscan.recos.table_mpe:TableMPEReco",
}


class UnknownRecoError(LookupError):
    """``reco_algo`` names no registered algorithm."""


def get_reco(name: str) -> type[Reco]:
    """The algorithm class registered as ``name``."""
    try:
        target = RECO_ALGORITHMS[name]
    except KeyError:
        raise UnknownRecoError(
            f"reco_algo: unknown {name!r}; known: {', '.join(sorted(RECO_ALGORITHMS))}"
        ) from None
    module_name, _, class_name = target.partition(":")
    reco: type[Reco] = getattr(importlib.import_module(module_name), class_name)
    return reco


__all__ = [
    "RECO_ALGORITHMS",
    "RECO_KINDS",
    "PixelFit",
    "PixelSeed",
    "Reco",
    "RecoKind",
    "RecoOptionError",
    "UnknownRecoError",
    "Vertex",
    "get_reco",
]
