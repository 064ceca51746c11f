#!/usr/bin/env bash
# Installs what the end-to-end suite needs, each piece only when missing:
#  - Debian's chromium, libkrb5-dev and ripgrep (apt-get, as root)
#  - code-server 4.100.3 (VS Code 1.100, the newest on Node 20) into a cache folder outside the
#    project's dependencies; its ripgrep postinstall is fed Debian's rg instead of a download.
# Prints the code-server binary path on its last line.
set -euo pipefail
CACHE="${GUP_E2E_CACHE:-$HOME/.cache/gup-lens-e2e}"
CS_VERSION=4.100.3
mkdir -p "$CACHE"

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v rg >/dev/null || need_apt+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "e2e setup: apt-get install ${need_apt[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >&2
fi

CS="$CACHE/code-server-$CS_VERSION"
BIN="$CS/node_modules/.bin/code-server"
if [ ! -x "$BIN" ]; then
  echo "e2e setup: installing code-server $CS_VERSION into $CS (about 80 s)" >&2
  tmp="$CACHE/tmp"
  rgcache="$tmp/vscode-ripgrep-cache-1.15.11"
  mkdir -p "$rgcache" "$CS"
  if [ ! -f "$rgcache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" ]; then
    d=$(mktemp -d) && cp "$(command -v rg)" "$d/rg" && tar -C "$d" -czf "$rgcache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" rg && rm -rf "$d"
  fi
  (cd "$CS" && [ -f package.json ] || echo '{"name":"code-server-cache","private":true}' > "$CS/package.json")
  TMPDIR="$tmp" npm_config_unsafe_perm=true npm_config_yes=true \
    npm install --prefix "$CS" --no-audit --no-fund --foreground-scripts "code-server@$CS_VERSION" >&2
fi
echo "$BIN"
