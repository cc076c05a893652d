"""The service layer: intake, processing, handlers and queries over the ports in ``ports``."""
