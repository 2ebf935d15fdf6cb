"""Alerting, the third layer of the alert core: from a rule's lifecycle decision to published records.

``publishing.py`` runs the stages for every decision: ``inhibition.py`` (a firing alert withholds
others), ``records.py`` (numbered transitions, ``transition.py``; acks; the silences of
``silences.py``), ``escalation.py`` (unacknowledged too long: one severity up); ``grouping.py``
folds many agents' alerts of one rule into one team alert; ``actions.py`` are the operator's
acknowledge and silence. ``labels.py`` says what silences and inhibit rules match. Knows the
rules (``detectors/``) and the floor, never the rules file or the engine.
"""
