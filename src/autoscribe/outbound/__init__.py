"""Outbound HTTP to URLs an integrator gives us: webhooks, synchronous calls, document and upload URLs.

`guard.check_target` and `guard.fetch_checked` decide whether a URL may be called and call it on
the very address that was checked; `transport.Pool` is the keep-alive HTTP/1.1 client under them,
with one deadline per request.
"""
