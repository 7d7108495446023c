#!/usr/bin/env bash
# Install what tarn needs to build, test and benchmark on Debian 12.
# Idempotent: installs only the packages that are missing.
#   scripts/setup.sh           build + test dependencies
#   scripts/setup.sh --check   only say what is missing (exit 1 if anything)
set -euo pipefail

pkgs=(gcc g++ clang libclang-rt-14-dev meson ninja-build pkg-config python3
      libnuma-dev numactl libgtest-dev libdpdk-dev dpdk dpdk-dev iproute2 kmod
      libpcap-dev libxdp-dev libbpf-dev valgrind iputils-ping doxygen groff-base
      prometheus tmux)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${1:-}" = "--check" ]; then
	if [ ${#missing[@]} -eq 0 ]; then echo "setup: all packages present"; exit 0; fi
	echo "setup: missing: ${missing[*]}"; exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all ${#pkgs[@]} packages present"
	exit 0
fi
echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then SUDO=sudo; else
		echo "setup: not root and no sudo: run as root: apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup: done"
