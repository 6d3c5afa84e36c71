#!/bin/sh
# Install the Debian packages a group of tests needs, when missing:
#   sh tests/install_debs.sh rtsp      GStreamer's RTSP server and the plugins the RTSP tests use
#                                      (x264enc comes with plugins-ugly on Debian 12)
#   sh tests/install_debs.sh browser   Chromium for the console's browser tests (Playwright drives
#                                      it through executable_path and downloads no browser itself)
# Idempotent: does nothing (and needs no network) when every package is already installed.
# `make test` calls it; a failed install never fails `make test`: those tests skip and say why.
set -eu

case "${1:-}" in
    rtsp) PACKAGES="gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly python3-gi"; WHO="the RTSP tests" ;;
    browser) PACKAGES="chromium"; WHO="the browser tests" ;;
    *) echo "usage: $0 rtsp|browser" >&2; exit 2 ;;
esac

missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_debs: no apt-get; missing:$missing ($WHO will be skipped)" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
        echo "install_debs: not root and no sudo; missing:$missing ($WHO will be skipped)" >&2
        exit 0
    fi
fi
echo "install_debs: installing$missing"
{ $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing; } \
    || echo "install_debs: apt-get failed ($WHO will be skipped)" >&2
