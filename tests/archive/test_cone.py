"""The Simple Cone Search, asked by pyvo over HTTP: alerts whose 90% region the cone overlaps, and
no other (not those whose best fit merely lies within SR)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import healpy as hp
import numpy as np
import pytest
import pyvo
import requests

from skymist.archive.catalogue import snapshots
from skymist.archive.cone import build_regions
from skymist.runtime.http_app import HttpParts, create_http_app
from tests.archive.support import localize_first_real_alert, settings_for
from tests.support.http_server import ServedApp


def names(service: Any, ra: float, dec: float, radius: float) -> list[str]:
    result = service.search(pos=(ra, dec), radius=radius)
    return sorted(str(name) for name in result.to_table()["NAME"])


@pytest.mark.slow
def test_pyvo_cone_search_returns_the_alerts_whose_regions_contain_the_position(
    app_factory: Any, shared_dir: Path, tmp_path: Path, real_scan_json: bytes
) -> None:
    app = app_factory(**settings_for(tmp_path))
    localize_first_real_alert(app, shared_dir, real_scan_json)  # IceCube-220524A
    with app.sessions() as session:
        regions = {r.name: r for r in build_regions(app.settings, snapshots(session))}
    other = next(name for name in regions if name != "IceCube-220524A")
    region = regions["IceCube-220524A"]
    # the region's pixel farthest from the best fit: inside the region, but degrees from the best fit
    ra_pix, dec_pix = hp.pix2ang(region.nside, region.pixels, lonlat=True)
    far = int(np.argmax(np.hypot((ra_pix - 47.2) * np.cos(np.radians(-3.28)), dec_pix + 3.28)))
    inside = (float(ra_pix[far]), float(dec_pix[far]))
    assert np.hypot((inside[0] - 47.2) * np.cos(np.radians(-3.28)), inside[1] + 3.28) > 2.0

    parts = HttpParts(ops=False, cone_search=True, catalogue=False, console=False)
    with ServedApp(create_http_app(app, parts)) as served:
        service = pyvo.dal.SCSService(f"{served.url}/scs")
        assert names(service, 47.2, -3.28, 0.1) == ["IceCube-220524A"]
        assert names(service, *inside, 0.01) == ["IceCube-220524A"]
        # 2.3 deg north of the best fit, outside the region (its box reaches +0.82 deg): none,
        # although a best-fit-within-SR search of radius 2.5 deg would return it
        assert names(service, 47.2, -1.0, 0.05) == []
        assert names(service, 138.6545, 0.1418, 0.01) == [other]  # the prompt-only alert's 90% circle
        assert names(service, 200.0, 40.0, 5.0) == []
        # a cone wide enough to reach both regions
        assert names(service, 93.0, -1.5, 46.0) == sorted(["IceCube-220524A", other])
        answer = service.search(pos=(47.2, -3.28), radius=0.1)
        assert "90% region" in str(answer.votable.resources[0].description)
        bad = requests.get(f"{served.url}/scs", params={"RA": "abc", "DEC": "0", "SR": "1"}, timeout=10)
        assert 'name="Error"' in bad.text and "abc" in bad.text and "not a number" in bad.text
        with pytest.raises(pyvo.dal.DALQueryError) as caught:  # the server's message, as pyvo reads it
            service.search(pos=(47.2, -3.28), radius=181.0)
        assert str(caught.value).startswith("SR = ") and "outside [0, 180] deg" in str(caught.value)
