"""Per-user topic subscriptions: topics (validation, canonical form), matching a digest against every
topic, queueing notifications with the digest (the after_load hook), delivering them, explaining them.

Front ends call `service` (subscribe/unsubscribe/topics/preferences), `explain.explain`,
`notify.notification_hook` (register with the Loader) and `deliver.Deliverer`.
"""
