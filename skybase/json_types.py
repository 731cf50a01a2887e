"""Names for JSON whose shape is free: what :func:`json.loads` returns before a model or a
TypedDict has checked it (an event from i3live, classifiers, metadata, a skyreader result).

``JSONValue`` is deliberately :data:`typing.Any`: a value read from the wire is narrowed where it
is used (a pydantic model, a TypedDict, an ``isinstance``). Everything whose keys the code fixes
has its own TypedDict, dataclass or model; these names mark what is left open, by intent.
"""

from __future__ import annotations

from typing import Any, TypeAlias

#: any JSON value, as parsed (str, int, float, bool, None, list or dict of these)
JSONValue: TypeAlias = Any
#: a JSON object, as parsed
JSONObject: TypeAlias = dict[str, JSONValue]
