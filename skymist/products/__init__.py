"""Rendered products (notices, VOEvents, Slack messages) and the typed context they are made from."""
