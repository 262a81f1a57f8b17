#!/usr/bin/env bash
# Fetches Valkey 8 (a Redis fork that has WAITAOF, which Debian 12's Redis 7.0 lacks)
# from bookworm-backports and unpacks it under .tmp/valkey, without installing it or
# touching the system's apt sources. Used by the durable-mode test and bench/durability.ts.
# Best effort: exits 0 with a message when it cannot.
set -uo pipefail
cd "$(dirname "$0")/.."
target=.tmp/valkey/usr/bin/valkey-server
[ -x "$target" ] && exit 0
. /etc/os-release 2>/dev/null || true
if [ "${VERSION_CODENAME:-}" != bookworm ]; then
  echo "fetch-valkey: not Debian bookworm; set WAITAOF_REDIS_SERVER to a redis-server >= 7.2 instead"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial"
# the machine's own Debian mirror (the first archive URI of its apt sources), backports suite
mirror=$(grep -hoE '^URIs:[[:space:]]*[^[:space:]]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -1)
[ -n "$mirror" ] || mirror=$(grep -hoE '^deb[[:space:]]+[^[:space:]]+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -1)
if [ -z "$mirror" ]; then
  echo "fetch-valkey: no Debian mirror in the apt sources; the WAITAOF test will be skipped"
  exit 0
fi
echo "deb $mirror bookworm-backports main" >"$tmp/backports.list"
opts=(-o APT::Sandbox::User=root -o "Dir::Etc::sourcelist=$tmp/backports.list" -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$tmp/lists")
if apt-get "${opts[@]}" update -qq && (cd "$tmp" && apt-get "${opts[@]}" download valkey-server valkey-tools >/dev/null 2>&1); then
  mkdir -p .tmp/valkey
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" .tmp/valkey; done
  "$target" --version
else
  echo "fetch-valkey: download failed; the WAITAOF test will be skipped"
fi
exit 0
