"""Adapters: the concrete technologies behind the ports (storage, transport, vendor connectors)."""
