"""The Simple Cone Search speaks SCS 1.03 exactly: a valid VOTable 1.4 (astropy's strict parser, STILTS
``votlint``) with results, without and on error; UCDs on every column and the standard's three
required ones once each; no duplicate IDs; the standard's error document, read by pyvo as a
``DALQueryError`` with the server's message; parameter names in any case; ``VERB``."""

from __future__ import annotations

import io
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import pyvo
import requests
from astropy.io.votable import parse
from sqlalchemy import select, update

from skymist.app import App
from skymist.archive.scs import ConeQuery, ScsQueryError, parse_query
from skymist.archive.votable import error_votable
from skymist.runtime.http_app import HttpParts, create_http_app
from skymist.store.models import AlertRevision
from tests.support.http_server import ServedApp
from tests.support.stilts import needs_stilts, votlint

NS = "{http://www.ivoa.net/xml/VOTable/v1.3}"
#: the prompt-only alert of the two shared real events (its 90% circle holds this position)
PROMPT_ONLY = (138.6545, 0.1418)
SCS_UCDS = ("meta.id;meta.main", "pos.eq.ra;meta.main", "pos.eq.dec;meta.main")


def strict(data: bytes) -> Any:
    """The VOTable parsed by astropy with every warning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return parse(io.BytesIO(data), verify="exception")


def ids(data: bytes) -> Counter[str]:
    return Counter(el.attrib["ID"] for el in ET.fromstring(data).iter() if "ID" in el.attrib)


def test_parameters_in_any_case_verb_and_errors_that_name_the_parameter() -> None:
    assert parse_query([("ra", "10"), ("Dec", "-5"), ("sR", "0.5")]) == ConeQuery(10.0, -5.0, 0.5, 2)
    assert parse_query([("RA", "0"), ("DEC", "90"), ("SR", "0"), ("verb", "3"), ("RUNID", "x")]).verb == 3
    for params, message in (
        ([("DEC", "0"), ("SR", "1")], "RA is missing"),
        ([("RA", "abc"), ("DEC", "0"), ("SR", "1")], "RA = 'abc': not a number"),
        ([("RA", "1"), ("DEC", "91"), ("SR", "1")], "DEC = '91': outside [-90, 90] deg"),
        ([("RA", "1"), ("DEC", "0"), ("SR", "nan")], "SR = 'nan': outside [0, 180] deg"),
        ([("RA", "1"), ("ra", "2"), ("DEC", "0"), ("SR", "1")], "RA is given twice ('1' and '2')"),
        ([("RA", "1"), ("DEC", "0"), ("SR", "1"), ("VERB", "4")], "VERB = '4': expected 1, 2 or 3"),
    ):
        with pytest.raises(ScsQueryError) as caught:
            parse_query(params)
        assert message in str(caught.value)


def test_the_error_document_is_scs_103s() -> None:
    data = error_votable('SR = "-1" <bad> & worse')
    votable = strict(data)
    assert votable.version == "1.4"
    [info] = [i for i in votable.infos if i.name == "Error"]
    assert info.value == 'SR = "-1" <bad> & worse'
    root = ET.fromstring(data)  # a direct child of VOTABLE, beside one empty RESOURCE
    assert [el.attrib["name"] for el in root.findall(f"{NS}INFO")] == ["Error"]
    [resource] = root.findall(f"{NS}RESOURCE")
    assert resource.find(f"{NS}TABLE") is None


@pytest.mark.slow
def test_cone_search_replies_are_valid_votables_with_the_standards_columns(real_alerts_app: App) -> None:
    app = real_alerts_app
    parts = HttpParts(ops=False, cone_search=True, catalogue=False, console=False)
    with ServedApp(create_http_app(app, parts)) as served:
        url = f"{served.url}/scs"

        def get(**params: Any) -> bytes:
            response = requests.get(url, params=params, timeout=30)
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
            return response.content

        found = get(RA=PROMPT_ONLY[0], DEC=PROMPT_ONLY[1], SR=0.01)
        empty = get(RA=200.0, DEC=40.0, SR=1.0)
        wrong = get(RA=10.0, DEC=0.0, SR=200.0)
        lower = get(ra=PROMPT_ONLY[0], dec=PROMPT_ONLY[1], sr=0.01)
        assert lower == found  # names in any case: the same query
        answers = {"found": found, "empty": empty, "wrong": wrong}

        rows: dict[str, int] = {}
        for name, data in answers.items():
            votable = strict(data)
            assert votable.version == "1.4", name
            assert all(n == 1 for n in ids(data).values()), (name, ids(data))
            if name == "wrong":
                [info] = [i for i in votable.infos if i.name == "Error"]
                assert "SR = '200.0': outside [0, 180] deg" in info.value
                continue
            [resource] = votable.resources
            [table] = resource.tables
            assert all(field.ucd for field in table.fields), [f.name for f in table.fields if not f.ucd]
            ucds = Counter(field.ucd for field in table.fields)
            assert all(ucds[ucd] == 1 for ucd in SCS_UCDS), ucds
            by_ucd = {field.ucd: field for field in table.fields}
            assert by_ucd["meta.id;meta.main"].datatype == "char"
            assert by_ucd["pos.eq.ra;meta.main"].datatype == "double"
            assert by_ucd["pos.eq.dec;meta.main"].datatype == "double"
            rows[name] = len(table.array)
        assert rows == {"found": 1, "empty": 0}
        names = {f.name for f in strict(found).get_first_table().fields}
        assert {"NAME", "RA", "DEC", "RA_ERR_PLUS", "DISTANCE", "RA_FULL_RANGE"} <= names

        # VERB: the bare minimum, the usual, every column
        position = {"RA": PROMPT_ONLY[0], "DEC": PROMPT_ONLY[1], "SR": 0.01}
        widths = [len(strict(get(**position, VERB=v)).get_first_table().fields) for v in (1, 2, 3)]
        assert widths[0] == 4 and widths[0] < widths[1] < widths[2]

        # pyvo, as an astronomer would ask
        service = pyvo.dal.SCSService(url)
        result = service.search(pos=PROMPT_ONLY, radius=0.01)
        with app.sessions() as session:  # the position as stored, not rounded
            stored_ra = session.execute(
                select(AlertRevision.ra_deg).where(AlertRevision.ra_deg.between(138.6, 138.7))
            ).scalar_one()
        assert len(result) == 1 and result[0]["RA"] == stored_ra
        assert len(service.search(pos=(200.0, 40.0), radius=1.0)) == 0
        with pytest.raises(pyvo.dal.DALQueryError) as caught:
            service.search(pos=(10.0, 0.0), radius=200.0)
        assert "outside [0, 180] deg" in str(caught.value)

    with app.sessions() as session, session.begin():  # the store says: 1.5 deg around Dec -89.4
        session.execute(
            update(AlertRevision)
            .where(AlertRevision.revision == 0, AlertRevision.ra_deg.between(138.6, 138.7))
            .values(dec_deg=-89.4, err90_deg=1.5)
        )
    with ServedApp(create_http_app(app, parts)) as served:
        polar = requests.get(f"{served.url}/scs", params={"RA": 10, "DEC": -90, "SR": 0}, timeout=30).content
    table = strict(polar).get_first_table().to_table()
    assert list(table["NAME"]) != [] and bool(table["RA_FULL_RANGE"][0])
    assert float(table["RA_ERR_PLUS"][0]) == float(table["RA_ERR_MINUS"][0]) == 180.0


@needs_stilts
@pytest.mark.slow
def test_votlint_finds_nothing_in_a_reply_with_results_an_empty_one_and_an_error(
    real_alerts_app: App, tmp_path: Path
) -> None:
    app = real_alerts_app
    parts = HttpParts(ops=False, cone_search=True, catalogue=False, console=False)
    queries = {
        "found": {"RA": PROMPT_ONLY[0], "DEC": PROMPT_ONLY[1], "SR": 0.01, "VERB": 3},
        "empty": {"RA": 200.0, "DEC": 40.0, "SR": 1.0},
        "wrong": {"RA": 10.0, "DEC": 0.0, "SR": -1},
    }
    with ServedApp(create_http_app(app, parts)) as served:
        for name, params in queries.items():
            data = requests.get(f"{served.url}/scs", params=params, timeout=30).content
            (tmp_path / f"{name}.vot").write_bytes(data)
    for name in queries:
        assert votlint(tmp_path / f"{name}.vot") == "", name
