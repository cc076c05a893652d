"""retailhub: the governed layer between sales channels, payments and the books."""

__version__ = "0.1.0"
