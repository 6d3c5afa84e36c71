"""grouping: clusters tracklets (cameras, video records, uploaded images) into individuals, for
record groupings (on Trigger) and live groupings (every step, over a sliding window)."""
