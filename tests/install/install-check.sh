#!/usr/bin/env bash
# install-check.sh setup DIR SOURCE_ROOT [MESON_ARG...]
# install-check.sh shared|static|mixed|plugin|clean DIR
#
# The documented ways of building a program against an installed tarn
# (README.md, docs/guide.md), checked from an install under a non-default
# prefix, as a user outside the tree does them:
#
#   setup   configure SOURCE_ROOT into DIR/build with --prefix DIR/opt/tarn
#           (release build, no tests; MESON_ARG... added: the main build
#           passes -D<driver>=disabled for a driver whose libraries have no
#           static archive here, see meson's summary), build, meson install
#   shared  cc prog.c $(pkg-config --cflags --libs libtarn): runs, and its
#           libtarn.so is the installed one
#   static  cc -static prog.c $(pkg-config --static --cflags --libs libtarn):
#           a fully static executable (no program interpreter, no
#           libraries), runs
#   mixed   libtarn.a linked in, the system libraries shared (the command of
#           docs/guide.md): runs, needs no libtarn.so
#   plugin  the DPDK plugin is installed in <libdir>/tarn, finds the
#           installed libtarn through its run path, and still finds one
#           when copied next to a libtarn.so elsewhere; exit 77 when the
#           install has no plugin (libdpdk not found)
#   clean   rm -rf DIR
#
# The program starts tarn, opens a port of the `ring` driver (found through
# the driver table, so the drivers are in the link), moves objects through a
# pool and checks they all came back. Exit 0 on success, 1 on failure.
set -euo pipefail
mode=$1 dir=$2
shift 2
log=$dir/log
unset LD_LIBRARY_PATH

fail() {
	echo "install-check $mode: $*" >&2
	exit 1
}

# Run a command, its output to the log; on failure show the log's end.
run() {
	echo "+ $*" >>"$log"
	if ! "$@" >>"$log" 2>&1; then
		tail -30 "$log" >&2
		fail "failed: $*"
	fi
}

prefix=$dir/opt/tarn
pcdir() { dirname "$(find "$prefix" -name libtarn.pc | head -1)"; }
# The libtarn.so.0 that the dynamic loader picks for $1, as a real path.
libtarn_of() { ldd "$1" | awk '$1 == "libtarn.so.0" { print $3 }' | xargs -r realpath; }

if [ "$mode" = setup ]; then
	src=$1
	shift
	rm -rf "$dir"
	mkdir -p "$dir"
	: >"$log"
	# buildtype release: no -g, so ccache hits across runs (the temporary
	# directory's name does not reach the compile commands).
	run meson setup "$dir/build" "$src" --prefix "$prefix" -Dbuildtype=release \
		-Dtests=disabled "$@"
	run ninja -C "$dir/build"
	run meson install -C "$dir/build" --no-rebuild
	[ -n "$(find "$prefix" -name libtarn.pc)" ] || fail "libtarn.pc not installed under $prefix"
	[ -f "$prefix/include/tarn/tarn.h" ] || fail "tarn.h not installed in $prefix/include/tarn"
	cat >"$dir/prog.c" <<'C'
#include <stdio.h>
#include <tarn/tarn.h>
int main(void)
{
	struct tarn_config c;
	tarn_config_init(&c);
	c.no_pin_main = 1;
	c.no_telemetry = 1;
	c.huge_policy = TARN_HUGE_NONE;
	snprintf(c.file_prefix, sizeof(c.file_prefix), "tarn-install-check");
	if (tarn_init(&c) != 0)
		return 1;
	int ok = 1;
	uint16_t port;
	ok &= tarn_eth_dev_create("ring:name=install_check", &port) == 0;
	ok &= tarn_eth_dev_close(port) == 0;
	struct tarn_mempool *mp = tarn_mempool_create("install_check", 512, 64, 32, 0, NULL, NULL,
	                                              TARN_SOCKET_ANY, 0);
	void *objs[256];
	ok &= mp != NULL && tarn_mempool_get_bulk(mp, objs, 256) == 0;
	if (mp != NULL) {
		tarn_mempool_put_bulk(mp, objs, 256);
		ok &= tarn_mempool_avail_count(mp) + tarn_mempool_in_use_count(mp) == 512;
		ok &= tarn_mempool_free(mp, 0) == 0;
	}
	ok &= tarn_cleanup() == 0;
	printf("%s program: %s\n", PROG_KIND, ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
C
	echo "install-check: tarn installed under $prefix"
	exit 0
fi

[ -f "$dir/prog.c" ] || fail "no install in $dir (run setup first)"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(pcdir)
libdir=$(pkg-config --variable=libdir libtarn)
read -ra cc <<<"${CC:-cc}" # "ccache cc" is two words
exe=$dir/prog-$mode

case $mode in
shared)
	# shellcheck disable=SC2046
	run "${cc[@]}" -DPROG_KIND='"shared"' -o "$exe" "$dir/prog.c" $(pkg-config --cflags --libs libtarn)
	# The shared program finds libtarn.so through the loader's path.
	[ "$(LD_LIBRARY_PATH=$libdir libtarn_of "$exe")" = "$(realpath "$libdir/libtarn.so.0")" ] ||
		fail "the program does not use $libdir/libtarn.so.0: $(LD_LIBRARY_PATH=$libdir ldd "$exe" | grep tarn)"
	LD_LIBRARY_PATH=$libdir "$exe" || fail "the shared program failed"
	;;
static)
	# shellcheck disable=SC2046
	run "${cc[@]}" -static -DPROG_KIND='"fully static"' -o "$exe" "$dir/prog.c" \
		$(pkg-config --static --cflags --libs libtarn)
	! readelf -l "$exe" | grep -q INTERP || fail "not fully static: it has a program interpreter"
	! readelf -d "$exe" 2>/dev/null | grep -q NEEDED || fail "not fully static: it needs libraries"
	"$exe" || fail "the fully static program failed"
	;;
mixed)
	# shellcheck disable=SC2046
	run "${cc[@]}" -DPROG_KIND='"libtarn.a"' -o "$exe" "$dir/prog.c" $(pkg-config --cflags libtarn) \
		-Wl,-Bstatic $(pkg-config --libs libtarn) -Wl,-Bdynamic \
		$(pkg-config --libs $(pkg-config --print-requires-private libtarn)) -lpthread
	! readelf -d "$exe" | grep NEEDED | grep -q libtarn || fail "the program still needs libtarn.so"
	"$exe" || fail "the program with libtarn.a failed"
	;;
plugin)
	plugin=$(find "$prefix" -name librte_mempool_tarn.so | head -1)
	[ -n "$plugin" ] || { echo "install-check: no DPDK plugin in this install (libdpdk not found): skipped"; exit 77; }
	[ "$plugin" = "$libdir/tarn/librte_mempool_tarn.so" ] ||
		fail "the plugin is at $plugin, docs/dpdk.md says $libdir/tarn/librte_mempool_tarn.so"
	[ "$(libtarn_of "$plugin")" = "$(realpath "$libdir/libtarn.so.0")" ] ||
		fail "the installed plugin does not find $libdir/libtarn.so.0: $(ldd "$plugin" | grep tarn)"
	# Copied next to a libtarn.so somewhere else: that one ($ORIGIN).
	other=$dir/elsewhere
	mkdir -p "$other"
	cp -a "$libdir"/libtarn.so* "$plugin" "$other/"
	[ "$(libtarn_of "$other/librte_mempool_tarn.so")" = "$(realpath "$other/libtarn.so.0")" ] ||
		fail "a copy next to $other/libtarn.so.0 does not use it: $(ldd "$other/librte_mempool_tarn.so" | grep tarn)"
	echo "plugin: $plugin finds $libdir/libtarn.so.0; a copy finds the libtarn beside it"
	;;
clean)
	rm -rf "$dir"
	;;
*)
	echo "usage: install-check.sh setup DIR SOURCE_ROOT [MESON_ARG...] | shared|static|mixed|plugin|clean DIR" >&2
	exit 2
	;;
esac
echo "install-check: $mode: ok"
