"""Synthetic scan results with known shapes, for the skymap tests (imported by name from this folder)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import healpy as hp
import numpy as np


def gaussian_llh_layers(
    ra_deg: float,
    dec_deg: float,
    sigma_deg: float,
    nsides: tuple[int, ...] = (8, 64, 512),
    radii_deg: tuple[float, ...] = (0.0, 12.0, 4.0),
    llh0: float = 1000.0,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Pixels (RING, current convention) and llh = llh0 + (d / sigma)^2 / 2 of a refined scan.

    The first nside is the whole sky; each next nside covers the pixels of the previous one within
    ``radius`` of the centre, split into all their children (as the scanner refines).
    """
    centre = hp.ang2vec(np.radians(90.0 - dec_deg), np.radians(ra_deg))
    layers: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    previous: int | None = None
    for nside, radius in zip(nsides, radii_deg, strict=True):
        if previous is None:
            ring = np.arange(hp.nside2npix(nside))
        else:
            parents = hp.query_disc(previous, centre, np.radians(radius), inclusive=True)
            factor2 = (nside // previous) ** 2
            nest = (hp.ring2nest(previous, parents)[:, None] * factor2 + np.arange(factor2)).ravel()
            ring = np.sort(hp.nest2ring(nside, nest))
        vec = np.array(hp.pix2vec(nside, ring)).T
        dist = np.degrees(np.arccos(np.clip(vec @ centre, -1.0, 1.0)))
        layers[nside] = (ring.astype(np.int64), llh0 + 0.5 * (dist / sigma_deg) ** 2)
        previous = nside
    return layers


def skyreader_doc(
    layers: dict[int, tuple[np.ndarray, np.ndarray]], version: int = 1, nan: str = "sentinel"
) -> dict[str, Any]:
    """A skyreader result dict; NaN cells (E_in/E_tot/X...) written per ``nan``."""
    columns = ["index", "llh", "E_in", "E_tot"] + (["X", "Y", "Z", "T"] if version == 1 else [])
    nan_value: Any = "<skyreader.nan>" if nan == "sentinel" else float("nan")
    doc: dict[str, Any] = {}
    for nside, (ring, llh) in layers.items():
        rows = []
        for i, value in zip(ring.tolist(), llh.tolist(), strict=True):
            rows.append([i, value] + [nan_value] * (len(columns) - 2))
        doc[f"nside-{nside}"] = {
            "columns": columns,
            "metadata": {
                "nside": nside,
                "complete": True,
                "run_id": 123456,
                "event_id": 789,
                "event_type": "neutrino",
                "mjd": 60000.5,
                "is_real_event": False,
                "version": version,
            }
            if version == 1
            else {"nside": nside},
            "data": rows,
        }
    return doc


def write_json(doc: dict[str, Any], path: Path) -> Path:
    """JSON text; bare NaN tokens stay bare (Python writes ``NaN``)."""
    path.write_text(json.dumps(doc))
    return path
