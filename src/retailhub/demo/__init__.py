"""Demo data: pure builders of vendor-shaped payloads for the demo generator and benchmarks."""
