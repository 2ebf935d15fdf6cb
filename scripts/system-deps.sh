#!/usr/bin/env bash
# Brings up what the test suite needs from the machine, idempotently:
# PostgreSQL on 127.0.0.1:5432, Debian's Chromium (browser tests), a CJK font (Chinese wallboard) and
# poppler's pdftotext (handover PDF read back), Debian's prometheus with promtool (the dashboards and rules are tested against a real Prometheus;
# the package's service is not started: the tests run their own Prometheus on a port of their own).
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  fi
fi

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi "WenQuanYi Micro Hei" || need+=(fonts-wqy-microhei)
command -v promtool >/dev/null && command -v prometheus >/dev/null || need+=(prometheus)
command -v pdftotext >/dev/null || need+=(poppler-utils)  # the handover PDF is read back in tests
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${need[*]} (Debian packages)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
exit 0
