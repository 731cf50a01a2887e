"""One-off conversion of GraphNeT's IceCube-86 geometry and ice tables into skybase's package data.

Run once by a developer (needs ``pyarrow``, not a runtime dependency):

    python scripts/convert_geometry.py ICECUBE86.parquet ICE_TRANSPARENCY.parquet

It writes ``skybase/i3/data/icecube86_doms.csv`` (string, om, x, y, z, rde, dom_type) and
``skybase/i3/data/ice_transparency.csv`` (depth, scattering_len, absorption_len), each headed by the
attribution lines the Apache License 2.0 asks a redistributor to keep.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.parquet as pq

DATA = Path(__file__).resolve().parent.parent / "skybase" / "i3" / "data"

GEOMETRY_HEADER = """\
# IceCube-86 DOM positions (metres, IceCube coordinates: origin near the detector centre, z up).
# Converted from the GraphNeT geometry table data/geometry_tables/icecube/icecube86.parquet
# (https://github.com/graphnet-team/graphnet, commit 2e17d473f1b81eb5ee29a7b273eb61d0e70d5e1a),
# Copyright the GraphNeT team, licensed under the Apache License, Version 2.0 (GRAPHNET_LICENSE.txt).
# Modifications: only the columns string, om (GraphNeT dom_number), x, y, z (dom_x, dom_y, dom_z),
# rde and dom_type are kept, rows sorted by (string, om), numbers printed with 2-3 decimals;
# an rde missing from the table is left empty.
"""

ICE_HEADER = """\
# Layered ice table: depth below the surface (m) and effective scattering / absorption lengths (m).
# Converted from the GraphNeT table data/ice_properties/ice_transparency.parquet
# (https://github.com/graphnet-team/graphnet, commit a1ee6217819f76f3ef26b3ca5430c58b9ba8f28a),
# Copyright the GraphNeT team, licensed under the Apache License, Version 2.0 (GRAPHNET_LICENSE.txt).
# Modifications: converted to CSV, values unchanged.
"""


def main(geometry: str, ice: str) -> None:
    table = pq.read_table(geometry).to_pydict()
    rows = sorted(
        zip(
            table["string"],
            table["dom_number"],
            table["dom_x"],
            table["dom_y"],
            table["dom_z"],
            table["rde"],
            table["dom_type"],
            strict=True,
        )
    )
    with (DATA / "icecube86_doms.csv").open("w") as out:
        out.write(GEOMETRY_HEADER)
        out.write("string,om,x,y,z,rde,dom_type\n")
        for s, om, x, y, z, rde, kind in rows:
            # 3 rows have no rde in the table: written empty, read as the nominal 1.0
            rde_text = "" if rde is None else f"{rde:.2f}"
            out.write(f"{s},{om},{x:.3f},{y:.3f},{z:.3f},{rde_text},{kind}\n")
    ice_table = pq.read_table(ice).to_pydict()
    with (DATA / "ice_transparency.csv").open("w") as out:
        out.write(ICE_HEADER)
        out.write("depth,scattering_len,absorption_len\n")
        columns = (ice_table["depth"], ice_table["scattering_len"], ice_table["absorption_len"])
        for d, s, a in zip(*columns, strict=True):
            out.write(f"{d:.1f},{s:.1f},{a:.1f}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
