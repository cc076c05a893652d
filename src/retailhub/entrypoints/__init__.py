"""Entry points: the CLI, the HTTP API and the worker."""
