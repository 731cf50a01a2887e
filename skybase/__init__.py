"""Shared basics of ``skymist`` and ``skyscan``.

The lowest layer of the project: the realtime event message of IceCube (its typed model and the
IceTray frames inside it), coordinates and times, logging, the settings base and the state-machine
helper. It imports neither ``skymist`` nor ``skyscan``; both import it.
"""
