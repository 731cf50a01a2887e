"""Simulated realtime events for calibrating skyscan's regions (``skyscan simulate``)."""
