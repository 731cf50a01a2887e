"""VOTable 1.4 documents, written by astropy's VOTable writer (never by string templates).

:func:`table_votable` writes an astropy table (the catalogue's columns keep their units, UCDs and
descriptions) as one RESOURCE holding one TABLE, with the query's INFO elements: the answer of the
Simple Cone Search and of any other query that returns alerts. :func:`error_votable` is the error
document of SCS 1.03 (section 2, with its erratum 3): an ``INFO name="Error"`` as a direct child of
VOTABLE, whose ``value`` is the message, beside an empty RESOURCE.

Every element ID is unique in the document: astropy derives an INFO's ID from its name when none is
given, so the INFOs here get IDs of their own (``query_<name>``), never the name of a FIELD.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

VOTABLE_VERSION = "1.4"
#: SCS 1.03: "The base MIME-type of the HTTP response should be text/xml"
SCS_MEDIA_TYPE = "text/xml"


def _variable_text(table: Any) -> Any:
    """Text columns as variable-length arrays (``arraysize="*"``: a fixed ``arraysize="1"`` is
    deprecated since VOTable 1.3 erratum 3, and an empty fixed-size value is "questionable" to
    votlint), of ``datatype="char"`` when every value is ASCII (what SCS asks of the ID_MAIN column),
    else ``unicodeChar``."""
    import numpy as np

    out = table.copy(copy_data=False)
    for name in out.colnames:
        column = out[name]
        if column.dtype.kind not in "US":
            continue
        ascii_only = all(str(v).isascii() for v in np.asarray(column).tolist())
        column.meta["_votable_string_dtype"] = "char" if ascii_only else "unicodeChar"
        column.meta["_votable_arraysize"] = "*"
    return out


def table_votable(
    table: Any,
    *,
    description: str | None = None,
    infos: Sequence[tuple[str, str]] = (),
    resource_name: str | None = None,
) -> bytes:
    """``table`` (an astropy Table; column ``meta["ucd"]``, units and descriptions kept) as a
    VOTable 1.4 document: one RESOURCE (type ``results``) with ``infos`` (name, value) and one
    TABLE."""
    from astropy.io.votable.tree import Info, Resource, TableElement, VOTableFile

    votable = VOTableFile(version=VOTABLE_VERSION)
    resource = Resource(type="results", name=resource_name)
    if description is not None:
        resource.description = description
    for name, value in infos:
        resource.infos.append(Info(ID=f"query_{name}", name=name, value=value))
    element = TableElement.from_table(votable, _variable_text(table))
    resource.tables.append(element)
    votable.resources.append(resource)
    out = io.BytesIO()
    votable.to_xml(out)
    return out.getvalue()


def error_votable(message: str) -> bytes:
    """The SCS 1.03 error document: ``<INFO ID="Error" name="Error" value="message"/>`` as a child of
    VOTABLE and an empty RESOURCE (VOTable requires one)."""
    from astropy.io.votable.tree import Info, Resource, VOTableFile

    votable = VOTableFile(version=VOTABLE_VERSION)
    votable.infos.append(Info(ID="Error", name="Error", value=message))
    votable.resources.append(Resource(type="results"))
    out = io.BytesIO()
    votable.to_xml(out)
    return out.getvalue()
