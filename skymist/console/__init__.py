"""The shifters' web console: server-rendered pages of every alert, its scans, skymaps, products and
audit, and the human actions (approve, edit, reject, release, rescan, retract, retry, cancel) with the
same rules as the CLI. Built by :func:`skymist.console.app.create_console` from an App."""
