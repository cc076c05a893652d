"""File formats retailhub reads: item masters (and, later, settlement and POS batch files)."""
