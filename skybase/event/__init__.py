"""IceCube's realtime event message: its typed model, read in one place for skymist and skyscan."""

from skybase.event.errors import EventFormatError, first_problem, format_error, shown
from skybase.event.model import ONLINE_RECO_KEY, EventData, OnlineTrackFit, RealtimeEvent

__all__ = [
    "ONLINE_RECO_KEY",
    "EventData",
    "EventFormatError",
    "OnlineTrackFit",
    "RealtimeEvent",
    "first_problem",
    "format_error",
    "shown",
]
