"""Detectors, the second layer of the alert core: the rules' conditions over the floor state.

Every rule the engine runs is one of these: the ``threshold`` rule (``threshold.py``: one metric
against a threshold) or a detector kind (``base.py`` is their common shape; one module per kind,
named after it: ``aht_spike.py``, ``agent_state.py``, ...). ``registry.py`` lists the kinds once;
``tracks.py`` keeps their per-site state; ``options.py`` holds what every rule carries besides
its condition (name, severity, ``group:``). A rule builds its alert's lifecycle machine
(``lifecycle.py``) and reads the floor (``floor/``); nothing here knows how alerts are published.
"""
