"""IceTray frames of IceCube's realtime event messages, read in plain Python (no IceTray, no C++).

- :mod:`.pickle`: the safe unpickler of ``value.data.frames`` entries;
- :mod:`.frame`: the version-6 frame format and its CRC-32C (:mod:`.crc32c`);
- :mod:`.archive`: IceTray's portable binary archive (boost's rules on class information and tracking);
- :mod:`.superdst`, :mod:`.masks`, :mod:`.particle`, :mod:`.objects`: the classes decoded;
- :mod:`.event`: one message's frames together, pulse maps resolved through their masks;
- :mod:`.geometry`: IC86 DOM positions and the layered ice table (package data);
- :mod:`.cleaning`: the online pulse cleaning (SeededRT, time window, DeepCore out);
- :mod:`.legacy_message`: the legacy message (``value.data`` is the frame list) in the current shape.

Nothing here imports ``skymist`` or ``skyscan``.
"""
