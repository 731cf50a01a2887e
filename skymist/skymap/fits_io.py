"""Common pieces of the FITS writers: header cards, serialisation, optional gzip, atomic write."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

from skymist.files import WrittenFile, write_atomic

__all__ = ["add_cards", "hdulist_bytes", "write_hdulist"]


def add_cards(header: Any, cards: list[tuple[str, Any, str]]) -> None:
    """Append cards to an astropy header; keywords longer than 8 characters become HIERARCH."""
    from astropy.io import fits

    for key, value, comment in cards:
        name = key if len(key) <= 8 else f"HIERARCH {key}"
        # a HIERARCH card holds 80 characters: drop the comment when it would not fit
        card = fits.Card(name, value, comment)
        if len(key) > 8 and len(str(card)) > 80:
            card = fits.Card(name, value)
        header.append(card, end=True)


def hdulist_bytes(hdus: Any, compress: bool) -> bytes:
    """The bytes of a FITS file (gzip-compressed, reproducibly, when ``compress``)."""
    buffer = io.BytesIO()
    hdus.writeto(buffer, checksum=True)
    data = buffer.getvalue()
    if compress:
        data = gzip.compress(data, compresslevel=6, mtime=0)
    return data


def write_hdulist(hdus: Any, path: str | Path) -> WrittenFile:
    """Write ``hdus`` atomically to ``path`` (gzip when the name ends in ``.gz``)."""
    target = Path(path)
    compress = target.suffix.lower() == ".gz"
    data = hdulist_bytes(hdus, compress)
    return write_atomic(target, data, "application/gzip" if compress else "application/fits")
