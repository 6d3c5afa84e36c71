"""Facegate's services; each runs as its own process: `python -m services.<name>`."""
