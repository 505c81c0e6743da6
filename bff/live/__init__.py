"""The push path: webhooks and pollers -> reconcile -> Redis snapshots and pub/sub ->
in-process fan-out -> subscriptions. :class:`bff.live.hub.LiveHub` is the façade."""
