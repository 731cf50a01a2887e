"""What runs: the daemon and its named jobs, the scheduler, metrics, the demo and replays.

It assembles the layers below (:func:`skymist.runtime.assembly.build_app`) and is used by the CLI only.
"""
