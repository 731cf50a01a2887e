"""The skymap step: a final scan result becomes a localization, the refined revision and its products.

* :mod:`~skymist.refine.localize`: :func:`localize_alert`, the hook scan orchestration calls;
* :mod:`~skymist.refine.numbers`: GCN's combined error radius of an error box;
* :mod:`~skymist.refine.files`: the skymap files, written atomically into ``data_dir/skymaps/<name>/``;
* :mod:`~skymist.refine.products`: the refined notice, VOEvent and Slack message, queued in the outbox;
* :mod:`~skymist.refine.hold`: refined notices held until a human approves the Circular.
"""
