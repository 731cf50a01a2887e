"""SkyMist: realtime alert handling for a neutrino observatory."""

__version__ = "0.1.0"
