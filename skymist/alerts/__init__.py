"""The alert lifecycle: every revision of an alert and the public products each one sends.

* :mod:`~skymist.alerts.prompt`: the ingest handlers of a bare event and an alert envelope; Revision 0
  and its products;
* :mod:`~skymist.alerts.gcn_mirror`: the handler of a mirrored GCN notice;
* :mod:`~skymist.alerts.prompt_position`: the Revision 0 position and radii from the online fit;
* :mod:`~skymist.alerts.refined`: Revision 1 from a final scan's skymap;
* :mod:`~skymist.alerts.final_scan`: the hand-off's consumer that makes Revision 1;
* :mod:`~skymist.alerts.retraction`: a retraction and what it cancels;
* :mod:`~skymist.alerts.products`: the one builder of a revision's outbox rows;
* :mod:`~skymist.alerts.context`: the typed values the product templates are rendered from;
* refined notices held until a human approves: :mod:`skymist.outbox.held` (where each product
  stands: :mod:`skymist.outbox.delivery`);
* :mod:`~skymist.alerts.rows`, :mod:`~skymist.alerts.views`: the alert and revision rows, read views
  (public names: :mod:`skymist.alert_names`);
* :mod:`~skymist.alerts.outbox_hooks`: what the outbox tells this package after a send.

Every handler, consumer and hook is registered in one place: :mod:`skymist.runtime.lifecycle`.
"""
