"""Per-user topic subscriptions: topics (validation, canonical form), matching a digest against every
topic, queueing notifications once a digest loaded (a marker in the load, batches after its commit),
sending them, explaining them.

Front ends call `service` (subscribe/unsubscribe/topics/preferences), `explain.explain`,
`notify.notification_hook` and `notify.NotificationQueue.after_commit` (register with the Loader)
and `send.NotificationSender`.
"""
