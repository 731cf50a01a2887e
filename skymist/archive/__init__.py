"""The FAIR archive: one BagIt-packaged RO-Crate record per alert, its DataCite and schema.org
metadata, the catalogue (IceCat-1 columns) in CSV/FITS/VOTable/Parquet, the static HTML catalogue and
the IVOA Simple Cone Search.

Every record is a pure function of the store (and of the skymap files the store names, with their
sha256): :func:`skymist.archive.writer.write_record` computes it and writes what changed, each file
atomically, so the hook-written record and ``skymist archive rebuild`` agree byte for byte.
"""
