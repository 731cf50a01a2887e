"""GCN Circulars: drafted automatically, approved or rejected by a human, then submitted.

* :mod:`~skymist.circulars.text`: the format rules every Circular must pass (subject, length, lines);
* :mod:`~skymist.circulars.context`: the typed values the Circular templates are rendered from;
* :mod:`~skymist.circulars.drafts`: render and store a draft (superseding older ones);
* :mod:`~skymist.circulars.approval`: a human approves or rejects a draft (audited);
* :mod:`~skymist.circulars.submission`: the outbox row that submits an approved Circular, and the
  dispatcher hook that marks it submitted once sent;
* :mod:`~skymist.circulars.lookup`: find an alert by name, RUNID_EVENTID or id.
"""
