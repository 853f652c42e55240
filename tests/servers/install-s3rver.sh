#!/usr/bin/env bash
# install-s3rver.sh -- install the pinned s3rver (package.json beside this
# script: s3rver 3.7.1 exactly) into tests/servers/node_modules with npm.
# Idempotent: returns at once when that exact version is already there.
# Safe to run concurrently (parallel ctest): installs are serialized by flock.
# It does not: write a package-lock.json (--no-package-lock), audit, or touch
# anything outside tests/servers/node_modules.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WANT=3.7.1

installed() {
  [ -f "$HERE/node_modules/s3rver/bin/s3rver.js" ] &&
    node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
      "$HERE/node_modules/s3rver/package.json" "$WANT" 2>/dev/null
}

command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "install-s3rver: node and npm are needed (apt-get install nodejs npm)" >&2; exit 1; }
installed && exit 0

mkdir -p "$HERE/node_modules"
exec 9>"$HERE/node_modules/.s3b-install.lock"
flock 9
installed && exit 0     # another run installed it while we waited
echo "install-s3rver: npm install s3rver@$WANT into $HERE/node_modules" >&2
(cd "$HERE" && npm install --no-audit --no-fund --no-package-lock --loglevel=error) >&2
installed || { echo "install-s3rver: s3rver $WANT is still not installed" >&2; exit 1; }
