"""Background tasks: one durable queue (the `tasks` table) for every kind of work but webhook
deliveries, which have their own outbox and dispatcher (see runner.py for why)."""
