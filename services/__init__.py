"""Facegate's services; each runs as its own process: `python -m services.<name>`."""

from shared.image_limits import cap_opencv

# Before anything imports OpenCV: its pixel cap is read once, when it loads (shared/image_limits.py).
cap_opencv()
