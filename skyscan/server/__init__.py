"""``skyscan serve``: a SkyDriver-compatible (REST API v2.4.x) scan service.

The app is built by :func:`skyscan.server.app.create_app` from :class:`skyscan.settings.SkyscanSettings`;
importing this package starts nothing.
"""
