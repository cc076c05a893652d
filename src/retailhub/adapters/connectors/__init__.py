"""Vendor connectors: inbound mappers, outbound clients and signature checks, one package each."""
