"""Floor state, the lowest layer of the alert core: canonical events -> live floor, KPIs, metrics.

The reducer (``reducer.Floor``: ``calls`` + ``agents``) keeps every site's live state (``state``)
and reports what changed (``touches``); ``kpis`` and ``window`` hold the counters, ``metrics`` is
the catalogue a rule may watch, ``projects`` the plans progress is measured against, and
``site_view`` / ``project_view`` render the wire documents. Imports nothing else of the core.
"""
