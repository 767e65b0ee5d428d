#!/usr/bin/env bash
# Makes sure Debian's chromium is at /usr/bin/chromium for the viewer's browser test
# (test/view-browser.test.ts, driven by playwright-core). Installs it with apt-get when run as root;
# otherwise says why it did not, and the test skips with the same reason. Never fails the caller.
set -u
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-chromium: $CHROMIUM is missing and this is not root; the browser test will skip (install: apt-get install -y chromium)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available; the browser test will skip"
  exit 0
fi
echo "ensure-chromium: installing Debian's chromium (a few minutes)..."
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium >/tmp/ensure-chromium.log 2>&1; then
  # The package lists may be missing or stale: refresh them once and retry.
  apt-get update >>/tmp/ensure-chromium.log 2>&1
  apt-get install -y --no-install-recommends chromium >>/tmp/ensure-chromium.log 2>&1 ||
    echo "ensure-chromium: apt-get install chromium failed (see /tmp/ensure-chromium.log); the browser test will skip"
fi
[ -x "$CHROMIUM" ] && echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null | tail -1)"
exit 0
