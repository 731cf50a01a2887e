"""The Jinja environment every product is rendered with (StrictUndefined: a missing value is an error)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Undefined


def slack_escape(text: object) -> str:
    """Escape the three characters Slack's mrkdwn reserves in data: & < >."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


#: templates whose output is markup: every value placed in them is escaped (``&``, ``<``, quotes)
MARKUP_SUFFIXES = (".xml", ".html", ".htm", ".xml.j2", ".html.j2", ".htm.j2")


def autoescape_markup(template_name: str | None) -> bool:
    """Autoescape XML and HTML templates, named ``x.xml`` or ``x.xml.j2`` (Jinja's own
    ``select_autoescape`` only sees the last suffix, ``.j2``, and would leave them unescaped)."""
    return template_name is not None and template_name.lower().endswith(MARKUP_SUFFIXES)


def _json(value: Any) -> str:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()  # StrictUndefined: name the missing variable
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _xml_bool(value: bool) -> str:
    return "true" if value else "false"


class Renderer:
    """Renders templates from ``templates/`` (the package ``skymist_templates``) or a given folder."""

    def __init__(self, folder: str | None = None) -> None:
        root = folder or str(resources.files("skymist_templates"))
        self.env = Environment(
            loader=FileSystemLoader(root),
            undefined=StrictUndefined,
            autoescape=autoescape_markup,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["json"] = _json
        self.env.filters["slack"] = slack_escape
        self.env.filters["xmlbool"] = _xml_bool

    def render(self, template: str, variables: Mapping[str, Any]) -> str:
        return self.env.get_template(template).render(**variables)

    def render_json(self, template: str, variables: Mapping[str, Any]) -> bytes:
        """Render a JSON template, check it parses, and return compact canonical bytes."""
        text = self.render(template, variables)
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"template {template!r} rendered invalid JSON: {exc}") from None
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
