"""The notifier: alert transitions → webhooks, chat robots (WeCom, DingTalk, Feishu) and email.

``core/`` is pure (routing, grouping, quiet times, rate-limit planning, rendering); the shell
(``service.py``, ``delivery.py``, ``store.py``, ``main.py``) owns Kafka, HTTP, SMTP, the database
and the clock. Reference: ``docs/notifications.md``.
"""
