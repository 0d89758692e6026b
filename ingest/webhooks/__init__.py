"""Webhooks: producers' endpoints (models, store), where they may point (destinations), signed
Standard Webhooks deliveries (signing, sending) and the event sink that queues them (sink)."""
