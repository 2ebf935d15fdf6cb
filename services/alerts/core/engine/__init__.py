"""The engine, the top layer of the alert core: the one object the shell drives.

``engine.py`` is :class:`~.engine.Engine` (events and time in, transitions out; reads, operator
actions, rules swap, snapshot and restore); ``plan.py`` derives from a rule set which rules to
evaluate on what; ``wakes.py`` keeps the detectors' wake-up times; ``persistence.py`` is what a
snapshot holds and how its alerts come back. Everything below is composed here.
"""
