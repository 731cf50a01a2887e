"""The alert lifecycle: every revision of an alert and the public products each one sends.

* :mod:`~skymist.alerts.prompt`: the ingest handlers (bare event, alert envelope, mirrored GCN notice);
  Revision 0 and its products;
* :mod:`~skymist.alerts.prompt_position`: the Revision 0 position and radii from the online fit;
* :mod:`~skymist.alerts.refined`: Revision 1 from a final scan's skymap (the hand-off hook);
* :mod:`~skymist.alerts.retraction`: a retraction and what it cancels;
* :mod:`~skymist.alerts.products`: the one builder of a revision's outbox rows;
* :mod:`~skymist.alerts.context`: the typed values the product templates are rendered from;
* :mod:`~skymist.alerts.hold`: refined notices held until a human approves;
* :mod:`~skymist.alerts.rows`, :mod:`~skymist.alerts.naming`, :mod:`~skymist.alerts.views`: the
  alert and revision rows, public names, read views;
* :mod:`~skymist.alerts.outbox_hooks`: what the outbox tells this package after a send.
"""
