#!/bin/sh
# Install Debian's GStreamer RTSP server and the plugins the RTSP tests use, when missing
# (x264enc comes with plugins-ugly on Debian 12; there is no separate x264 package).
# Idempotent: does nothing (and needs no network) when every package is already installed.
# `make test` calls it; the tests skip with the reason when the server still cannot start.
set -eu

PACKAGES="gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly python3-gi"

missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_gstreamer: no apt-get; missing:$missing (the RTSP tests will be skipped)" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
        echo "install_gstreamer: not root and no sudo; missing:$missing (the RTSP tests will be skipped)" >&2
        exit 0
    fi
fi
echo "install_gstreamer: installing$missing"
# A failed install must not fail `make test`: the RTSP tests then skip and say why.
{ $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing; } \
    || echo "install_gstreamer: apt-get failed (the RTSP tests will be skipped)" >&2
