"""The catalogue's export formats, apart from the exporters (:mod:`skymist.archive.catalogue`, which
load astropy and pyarrow) so that ``skymist catalogue export --help`` lists them at once."""

from __future__ import annotations

from typing import Literal

Format = Literal["csv", "fits", "votable", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "fits", "votable", "parquet")
