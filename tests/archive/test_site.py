"""The static HTML catalogue: valid pages whose embedded JSON-LD expands (pyld) to a schema.org Dataset
with the DOI, and a DOM rendered by headless Chromium that lists every alert; screenshots."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import html5lib
import pytest
import requests
from pyld import jsonld

from skymist.archive.site import write_site
from skymist.archive.verify import verify_record
from skymist.cli.main import main
from tests.archive.support import localize_first_real_alert, settings_for

SCHEMA = "http://schema.org/"
SCREENSHOTS = Path(os.environ.get("SKYMIST_SCREENSHOT_DIR", "/tmp/skymist-catalogue-screenshots"))


class _Page(HTMLParser):
    """The JSON-LD scripts and the element nesting of a page (an unclosed element is an error)."""

    VOID = frozenset({"meta", "link", "img", "br", "hr", "input", "circle", "rect", "line", "ellipse"})

    def __init__(self) -> None:
        super().__init__()
        self.jsonld: list[str] = []
        self.stack: list[str] = []
        self._in_jsonld = False
        self.doctype = ""
        self.errors: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_jsonld = tag == "script" and ("type", "application/ld+json") in attrs
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        self._in_jsonld = False
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._in_jsonld:
            self.jsonld.append(data)


def parse(path: Path) -> _Page:
    """The page's JSON-LD, after checking it is valid HTML5 (html5lib, strict: any parse error fails)."""
    html5lib.HTMLParser(strict=True).parse(path.read_bytes())
    page = _Page()
    page.feed(path.read_text())
    page.close()
    assert page.doctype.lower() == "doctype html" and page.errors == [] and page.stack == [], path
    return page


def schema_org_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """schema.org's JSON-LD context is its vocabulary: no network here, so it is given locally."""
    assert url.rstrip("/") in ("https://schema.org", "http://schema.org"), url
    return {"contextUrl": None, "documentUrl": url, "document": {"@context": {"@vocab": SCHEMA}}}


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("headless Chromium is needed (Debian package chromium; .ci/run installs it)")
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.mark.slow
def test_html_catalogue_pages_jsonld_and_rendered_dom(
    app_factory: Any, shared_dir: Path, tmp_path: Path, real_scan_json: bytes
) -> None:
    app = app_factory(**settings_for(tmp_path))
    localize_first_real_alert(app, shared_dir, real_scan_json)
    site = app.settings.archive_root
    first = write_site(app.settings, app.sessions)
    assert first.pages == 3 and "index.html" in first.written
    again = write_site(app.settings, app.sessions)
    assert again.written == []  # nothing changed: nothing rewritten

    names = sorted(p.stem for p in site.glob("IceCube-*.html"))
    assert len(names) == 2 and "IceCube-220524A" in names
    for name in names:
        page = parse(site / f"{name}.html")
        [text] = page.jsonld
        expanded = jsonld.expand(json.loads(text), {"documentLoader": schema_org_loader})
        [dataset] = expanded
        assert dataset["@type"] == [f"{SCHEMA}Dataset"]
        doi = dataset[f"{SCHEMA}identifier"][0]["@value"]
        assert doi.startswith("https://doi.org/10.5072/icecube.alert.") and dataset["@id"] == doi
        assert dataset[f"{SCHEMA}name"][0]["@value"].startswith(name)
    index = parse(site / "index.html")
    [catalogue] = jsonld.expand(json.loads(index.jsonld[0]), {"documentLoader": schema_org_loader})
    assert catalogue["@type"] == [f"{SCHEMA}DataCatalog"] and len(catalogue[f"{SCHEMA}dataset"]) == 2
    for export in ("catalogue.csv", "catalogue.fits", "catalogue.vot", "catalogue.parquet"):
        assert (site / export).stat().st_size > 0

    # the DOM as Chromium renders it (after the page's script ran), sorted by clicking nothing
    dom = chromium("--virtual-time-budget=2000", "--dump-dom", (site / "index.html").as_uri()).stdout
    rows = _Rows()
    rows.feed(dom)
    assert sorted(rows.names) == names
    assert sorted(rows.regions) == names  # every alert has its region drawn on the sky map
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for html, shot in (("index.html", "index.png"), ("IceCube-220524A.html", "IceCube-220524A.png")):
        target = SCREENSHOTS / shot
        chromium("--window-size=1280,1400", f"--screenshot={target}", (site / html).as_uri())
        assert target.stat().st_size > 10_000


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.regions: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and "alert" in (found.get("class") or "").split():
            self.names.append(found.get("data-name") or "")
        if tag == "g" and found.get("class") == "region":
            self.regions.append(found.get("data-name") or "")


@pytest.mark.slow
def test_exported_site_is_whole_in_chromium(
    app_factory: Any,
    database_url: str,
    shared_dir: Path,
    tmp_path: Path,
    real_scan_json: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``catalogue site --output DIR`` outside the archive: every page opened in headless Chromium
    loads every image with no 4xx in the network log, and every file a page links is there."""
    from starlette.staticfiles import StaticFiles

    from tests.console.browser import chromium as browser_session
    from tests.support.http_server import ServedApp

    app = app_factory(**settings_for(tmp_path))
    monkeypatch.setenv("SKYMIST_DATA_DIR", str(app.settings.data_dir))
    localize_first_real_alert(app, shared_dir, real_scan_json)
    export = tmp_path / "exported-site"
    assert main(["--database-url", database_url, "catalogue", "site", "--output", str(export)]) == 0
    pages = sorted(p.name for p in export.glob("*.html"))
    assert len(pages) == 3 and "index.html" in pages
    assert verify_record(export / "IceCube-220524A") == []  # the record's bag, copied whole

    with ServedApp(StaticFiles(directory=export)) as served, browser_session() as browser:
        failed: list[str] = []
        links: set[str] = set()
        pictures = 0
        for name in pages:
            page = browser.new_page()
            page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
            page.goto(f"{served.url}/{name}", wait_until="load")
            images = page.evaluate(
                "Array.from(document.images)"
                ".map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])"
            )
            assert all(loaded for _src, loaded in images), (name, images)
            pictures += len(images)
            hrefs = page.evaluate(  # (the sky map's links are SVG <a>: their href is no string)
                "Array.from(document.querySelectorAll('a[href]'))"
                ".map(a => new URL(a.getAttribute('href'), document.baseURI).href)"
            )
            links.update(h for h in hrefs if h.startswith(served.url))
            page.close()
        assert failed == []
        assert pictures >= 1  # IceCube-220524A's skymap picture
        assert any(link.endswith(".moc.fits") for link in links)  # the region MOCs, linked
        for link in sorted(links):  # every file a page links (not loaded by the browser) is there
            assert requests.get(link, timeout=30).status_code == 200, link


@pytest.mark.slow
def test_alert_page_links_only_the_version_dois_that_have_a_datacite_record(
    app_factory: Any, shared_dir: Path, tmp_path: Path, real_scan_json: bytes
) -> None:
    import dataclasses

    from skymist.archive.record import record_files
    from skymist.archive.site import _alert_page, _environment
    from skymist.archive.snapshot import take_snapshot

    app = app_factory(**settings_for(tmp_path))
    localize_first_real_alert(app, shared_dir, real_scan_json)
    with app.sessions() as session:
        snap = take_snapshot(session, 1)
    concept = "10.5072/icecube.alert.136662.35405932"

    def page_of(snapshot: Any) -> tuple[str, list[str]]:
        files = record_files(app.settings, snapshot)
        datacite = sorted(f.path for f in files if f.path.startswith("metadata/datacite-r"))
        return _alert_page(_environment(), app.settings, snapshot, files).decode(), datacite

    html, datacite = page_of(snap)
    assert datacite == ["metadata/datacite-r0.json", "metadata/datacite-r1.json"]
    assert f"https://doi.org/{concept}.r0" in html and f"https://doi.org/{concept}.r1" in html
    # Rev 1 recorded but not (yet) published: no DataCite record of it, so no link to its DOI
    held = dataclasses.replace(snap, sent=tuple(p for p in snap.sent if p.revision != 1))
    html, datacite = page_of(held)
    assert datacite == ["metadata/datacite-r0.json"]
    assert f"https://doi.org/{concept}.r0" in html and f"{concept}.r1" not in html
