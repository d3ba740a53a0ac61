# scripts/lib.sh: shared by scripts/quickstart, scripts/test and scripts/bench.
# Sourced, not run.

KVD_SRC=$(cd "$(dirname "$0")/.." && pwd)

# The Debian packages a build and its tests need.
KVD_PACKAGES="build-essential autoconf automake libtool pkg-config
	libevent-dev libprotobuf-c-dev protobuf-c-compiler libsodium-dev
	libcmocka-dev libxxhash-dev libedit-dev libsystemd-dev mandoc clang
	procps util-linux"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Install whatever of the given packages is missing; a no-op when all are there.
kvd_install() {
	missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	say "installing:$missing"
	sudo=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || die "need root (or sudo) to install:$missing"
		sudo=sudo
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq || die "apt-get update failed"
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
		die "apt-get install failed for:$missing"
}

# Configure (once) and build in the folder $1 with the configure options after it.
kvd_build() {
	build=$1; shift
	cd "$KVD_SRC" || die "cannot enter $KVD_SRC"
	if [ ! -x configure ] || [ configure.ac -nt configure ]; then
		say "bootstrapping autotools"
		autoreconf -fi >/dev/null || die "autoreconf failed"
	fi
	mkdir -p "$build" || die "cannot create $build"
	cd "$build" || die "cannot enter $build"
	if [ ! -f Makefile ] || [ "$(cat .kvd-configure-args 2>/dev/null)" != "$*" ]; then
		say "configuring in $build: $*"
		"$KVD_SRC"/configure --quiet "$@" >/dev/null || die "configure failed (see $build/config.log)"
		printf '%s' "$*" > .kvd-configure-args
	fi
	say "building in $build"
	make -j"$(nproc)" >/dev/null || die "build failed"
}
