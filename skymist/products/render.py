"""The Jinja environment every product is rendered with (StrictUndefined: a missing value is an error)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Undefined, select_autoescape


def slack_escape(text: object) -> str:
    """Escape the three characters Slack's mrkdwn reserves in data: & < >."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
            autoescape=select_autoescape(enabled_extensions=("xml", "html"), default_for_string=False),
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["json"] = _json
        self.env.filters["slack"] = slack_escape
        self.env.filters["xmlbool"] = _xml_bool

    def render(self, template: str, variables: dict[str, Any]) -> str:
        return self.env.get_template(template).render(**variables)

    def render_json(self, template: str, variables: dict[str, Any]) -> bytes:
        """Render a JSON template, check it parses, and return compact canonical bytes."""
        text = self.render(template, variables)
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"template {template!r} rendered invalid JSON: {exc}") from None
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
