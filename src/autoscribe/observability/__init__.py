"""Observability: request ids (requestid), Prometheus metrics (metrics), readiness (health), and
the middleware and routes that expose them (http). See docs/architecture.md "Observability"."""
