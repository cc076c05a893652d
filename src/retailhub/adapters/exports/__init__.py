"""Exports of the hub's books to formats finance tools read."""
