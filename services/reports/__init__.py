"""Reports and the shift handover: figures after the shift, from the stored event history.

``core/`` is pure (events -> roll-up rows -> report rows); ``store.py`` keeps the roll-ups in the
database and answers the report queries; the API serves them (``services/api/rest_reports.py``).
"""
