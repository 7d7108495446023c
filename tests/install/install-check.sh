#!/usr/bin/env bash
# install-check.sh BUILD_DIR shared|static
# Install BUILD_DIR into a temporary root, build a five-line program against
# it with pkg-config, run it. Exit 0 on success.
set -euo pipefail
build=$1 mode=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --no-rebuild --destdir "$root" --quiet >/dev/null
pc=$(dirname "$(find "$root" -name libtarn.pc | head -1)")
[ -n "$pc" ] || { echo "libtarn.pc not installed"; exit 1; }
test -f "$(find "$root" -path '*include/tarn/tarn.h' | head -1)" || { echo "tarn.h not installed"; exit 1; }
cat >"$root/hello.c" <<'C'
#include <tarn/tarn.h>
int main(void) {
	struct tarn_config c; tarn_config_init(&c); c.no_pin_main = 1;
	if (tarn_init(&c) != 0) return 1;
	return tarn_cleanup();
}
C
export PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$root
cc=${CC:-cc}
if [ "$mode" = static ]; then
	$cc -o "$root/hello" "$root/hello.c" $(pkg-config --cflags libtarn) -static-libgcc \
		-Wl,-Bstatic $(pkg-config --libs-only-L libtarn) -ltarn -Wl,-Bdynamic \
		$(pkg-config --static --libs-only-l libtarn | sed 's/-ltarn//')
	! ldd "$root/hello" | grep -q libtarn || { echo "static build still needs libtarn.so"; exit 1; }
	"$root/hello"
else
	$cc -o "$root/hello" "$root/hello.c" $(pkg-config --cflags --libs libtarn)
	LD_LIBRARY_PATH=$(dirname "$(find "$root" -name 'libtarn.so' | head -1)") "$root/hello"
fi
echo "install-check: $mode program built and ran"
