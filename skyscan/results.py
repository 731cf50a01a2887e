"""Scan results in skyreader's JSON format (``skyscan_result`` of SkyDriver's ``PUT /scan/{id}/result``).

One entry per nside, keys and order as skyreader's ``SkyScanResult.serialize()`` writes them::

    {"nside-8": {"columns": ["index", "llh", "E_in", "E_tot", "X", "Y", "Z", "T"],
                 "data": [[0, 1177.27, "<skyreader.nan>", ...], ...],          # rows sorted by index
                 "metadata": {"nside": 8, "complete": true, "run_id": ..., "event_id": ...,
                              "event_type": "neutrino", "mjd": ..., "is_real_event": true, "version": 1,
                              "reco_algo": "online_gaussian", "reco_kind": "approximation",
                              "region_method": "wilks"}}, ...}

``index`` is a HEALPix RING pixel, ``llh`` is -ln L. NaN is written as the string ``"<skyreader.nan>"``
(skyreader >= 1.4.6). skyreader reads the metadata into a dtype's metadata without checking its keys
beyond ``nside`` (and writes any extra key into its NPZ header), so the extra keys are safe: ``reco_algo``
names the algorithm that made the map, ``reco_kind`` says whether it is a ``reconstruction`` or an
``approximation`` (``online_gaussian`` is one, not a fit), ``region_method`` which threshold set draws its
50% / 90% regions (:attr:`skyscan.recos.base.Reco.kind`, :attr:`~skyscan.recos.base.Reco.region_method`).

The format's names (columns, NaN sentinel, event metadata) and its reader are the wire client's
(:mod:`scanner_client.skyscan_result`, :mod:`scanner_client.models`); this module only writes.
"""

from __future__ import annotations

from collections.abc import Mapping

from scanner_client.models import EventMetadata
from scanner_client.skyscan_result import COLUMNS_V1, encode_nan
from skybase.json_types import JSONObject
from skyscan.recos.base import PixelFit

RESULT_VERSION = 1


def nside_key(nside: int) -> str:
    return f"nside-{nside}"


def build_result(
    fits_by_nside: Mapping[int, Mapping[int, PixelFit]],
    event: EventMetadata,
    *,
    complete: bool,
    reco_algo: str | None = None,
    reco_kind: str | None = None,
    region_method: str | None = None,
) -> dict[str, JSONObject]:
    """The skyreader-format result of the pixels fitted so far (nsides in increasing order)."""
    result: dict[str, JSONObject] = {}
    for nside in sorted(fits_by_nside):
        fits = fits_by_nside[nside]
        if not fits:
            continue
        metadata: JSONObject = {
            "nside": nside,
            "complete": complete,
            **event.model_dump(),
            "version": RESULT_VERSION,
        }
        for key, value in (
            ("reco_algo", reco_algo),
            ("reco_kind", reco_kind),
            ("region_method", region_method),
        ):
            if value is not None:
                metadata[key] = value
        result[nside_key(nside)] = {
            "columns": list(COLUMNS_V1),
            "data": encode_nan([[index, *fits[index].as_list()] for index in sorted(fits)]),
            "metadata": metadata,
        }
    return result
