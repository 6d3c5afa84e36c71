"""Postgres access: one pool per process, numbered SQL migrations run by one entry point."""
