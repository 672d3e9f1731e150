#!/usr/bin/env bash
# The browser tests drive Debian's chromium (never a downloaded browser).
set -euo pipefail
# Chinese fonts too: screenshots and report charts show Chinese text.
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then exit 0; fi
echo "Installing Debian's chromium and CJK fonts for the browser tests and charts..."
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "chromium is missing: install it with 'apt-get install chromium' as root, then run the tests again." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk
