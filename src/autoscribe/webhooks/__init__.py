"""Webhooks: outbox, signing, delivery with retries, synchronous calls, attempt log.

Public entry points: `outbox.enqueue`, `outbox.register_refresher`, `sync.call_sync`,
`service.replay`, `service.send_test`, `service.get_event`, `service.list_events`,
`service.list_attempts`, `dispatcher.Dispatcher`. The calls go out through `autoscribe.outbound`.
"""
