#!/bin/sh
# Install Debian's Chromium for the console's browser tests (tests/browser), when missing.
# Playwright drives it (executable_path); no browser is downloaded by Playwright itself.
# Idempotent: does nothing (and needs no network) when it is already installed.
# `make test` calls it; the browser tests skip with the reason when Chromium still cannot start.
set -eu

PACKAGES="chromium"

missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium: no apt-get; missing:$missing (the browser tests will be skipped)" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
        echo "install_chromium: not root and no sudo; missing:$missing (the browser tests will be skipped)" >&2
        exit 0
    fi
fi
echo "install_chromium: installing$missing"
# A failed install must not fail `make test`: the browser tests then skip and say why.
{ $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing; } \
    || echo "install_chromium: apt-get failed (the browser tests will be skipped)" >&2
