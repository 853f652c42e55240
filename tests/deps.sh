#!/usr/bin/env bash
# tests/deps.sh — install what building and testing s3bridge needs on
# Debian 12 (bookworm): the build dependencies, the two test S3 servers
# (Ceph RGW from Debian packages, s3rver from npm) and the tools the
# integration tests drive.  Idempotent: it installs only what is missing.
# Needs root (or sudo).  S3B_BENCH_DEPS=1 also installs s3fs and rclone.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libfuse3-dev fuse3 libcurl4-openssl-dev libssl-dev libsqlite3-dev libxml2-dev libisal-dev
      radosgw ceph-mon ceph-osd ceph-common curl uuid-runtime
      python3 rsync strace valgrind procps bc sqlite3 util-linux)
[ "${S3B_BENCH_DEPS:-0}" = 1 ] && pkgs+=(s3fs rclone)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=
	[ "$(id -u)" = 0 ] || SUDO=sudo
	echo "deps: installing ${missing[*]}" >&2
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
"$HERE/servers/install-s3rver.sh"
