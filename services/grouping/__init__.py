"""grouping: clusters faces into individuals (planned; see README)."""
