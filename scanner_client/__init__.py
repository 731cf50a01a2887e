"""Typed, wire-compatible client of the SkyDriver REST API (v2.4.x)."""
