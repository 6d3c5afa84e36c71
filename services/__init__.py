"""Facegate's services; each runs as its own process: `python -m services.<name>`."""

from shared.image_limits import cap_opencv
from shared.threads import limit_native_pools

# Before anything imports OpenCV: its pixel cap is read once, when it loads (shared/image_limits.py).
cap_opencv()
# Before anything imports numpy: OpenBLAS reads its thread count once, when it loads (shared/threads.py).
limit_native_pools()
