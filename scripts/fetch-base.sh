#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Make the base kernel: a git repository in the cache whose commit tagged
# "base" is Linux 7.3.y as released (Debian's linux-source-7.3, or the
# user's own tree given as KERNEL_SRC=).
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<EOT
usage: ${0##*/} [--help]

Creates (once) the git repository $CACHE/linux with the base kernel
committed and tagged "base".

Source of the base, in this order:
  KERNEL_SRC=/path/to/linux   your own Linux 7.3.y tree (git or not)
  otherwise                   Debian's $BASE_PKG, version $BASE_DEB_VERSION
                              preferred, from trixie-backports, through a
                              private apt configuration in $APT_DIR
                              (the system's apt sources are never touched)

Environment: PKVM_ITS_CACHE (cache directory, default
\${XDG_CACHE_HOME:-~/.cache}/pkvm-its), BASE_DEB_VERSION, DEBIAN_MIRROR.
EOT
}

case "${1:-}" in
-h|--help) usage; exit 0 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# "7.3.4" from a tree's top-level Makefile.
tree_version()
{
	awk -F' *= *' '
		$1 == "VERSION" { v = $2 } $1 == "PATCHLEVEL" { p = $2 }
		$1 == "SUBLEVEL" { s = $2 } $1 == "EXTRAVERSION" { e = $2 }
		END { if (v != "") printf "%s.%s.%s%s\n", v, p, s, e }' "$1/Makefile"
}

apt_setup()
{
	mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
	[ -r "$KEYRING" ] ||
		die "$KEYRING missing: install debian-archive-keyring"
	cat >"$APT_DIR/sources.list" <<EOT
deb [signed-by=$KEYRING] $MIRROR trixie-backports main
EOT
	msg "updating the private package lists (trixie-backports)"
	# apt-get update exits 0 when a source is unreachable: read its log.
	if ! apt_priv apt-get update >"$APT_DIR/update.log" 2>&1 ||
	   grep -qE '^(Err:|E: |W: Failed to fetch)' "$APT_DIR/update.log"; then
		grep -E '^(Err:|E: |W: )' "$APT_DIR/update.log" | head -n 3 >&2
		die "cannot reach $MIRROR trixie-backports: check the network or set DEBIAN_MIRROR"
	fi
}

# Download the linux-source .deb, print its path.
fetch_deb()
{
	local debs=$CACHE/debs want versions

	mkdir -p "$debs"
	want=$(ls "$debs/${BASE_PKG}_${BASE_DEB_VERSION}_all.deb" 2>/dev/null || true)
	if [ -n "$want" ]; then
		echo "$want"
		return
	fi
	apt_setup
	versions=$(apt_priv apt-cache madison "$BASE_PKG" 2>/dev/null | awk -F' *[|] *' '{print $2}')
	[ -n "$versions" ] ||
		die "package $BASE_PKG not found in trixie-backports; use KERNEL_SRC=/path/to/linux-7.3"
	if ! printf '%s\n' "$versions" | grep -qxF "$BASE_DEB_VERSION"; then
		local v
		v=$(printf '%s\n' "$versions" | grep -E '^7\.3\.' | head -n 1)
		[ -n "$v" ] ||
			die "no 7.3.x version of $BASE_PKG available (found: $versions); use KERNEL_SRC="
		msg "warning: $BASE_PKG $BASE_DEB_VERSION is gone from the archive, using $v"
		BASE_DEB_VERSION=$v
	fi
	msg "downloading $BASE_PKG $BASE_DEB_VERSION (about 170 MB)"
	(cd "$debs" && apt_priv apt-get download "$BASE_PKG=$BASE_DEB_VERSION" >&2) ||
		die "download of $BASE_PKG=$BASE_DEB_VERSION failed"
	# Debian's file names: no blanks or newlines to worry about.
	# shellcheck disable=SC2012
	ls "$debs"/${BASE_PKG}_*"${BASE_DEB_VERSION#*:}"*_all.deb 2>/dev/null | head -n 1 ||
		ls -t "$debs"/${BASE_PKG}_*_all.deb | head -n 1
}

# Debian appends its own block to the top-level .gitignore (it ignores
# everything at the top level, for its packaging). Cut it so the base
# behaves like upstream's tree.
strip_debian_gitignore()
{
	local gi=$1/.gitignore n

	[ -f "$gi" ] || return 0
	n=$(grep -n '^# Debian' "$gi" | head -n 1 | cut -d: -f1)
	[ -n "$n" ] || return 0
	# The block starts with a lone "#" line, after a blank line.
	n=$((n - 1))
	[ "$(sed -n "${n}p" "$gi")" = "#" ] || n=$((n + 1))
	[ -n "$(sed -n "$((n - 1))p" "$gi")" ] || n=$((n - 1))
	sed -i "${n},\$d" "$gi"
}

# Unpack the source into $1 (an empty directory).
unpack_source()
{
	local dest=$1 deb tarball

	if [ -n "${KERNEL_SRC:-}" ]; then
		msg "copying KERNEL_SRC=$KERNEL_SRC"
		if [ -e "$KERNEL_SRC/.git" ]; then
			git -C "$KERNEL_SRC" archive --format=tar HEAD | tar -C "$dest" -xf -
		else
			tar -C "$KERNEL_SRC" --exclude=.git -cf - . | tar -C "$dest" -xf -
		fi
		return
	fi
	deb=$(fetch_deb)
	msg "extracting $deb"
	tarball=$(dpkg-deb --fsys-tarfile "$deb" | tar -tf - | grep -m1 '^\./usr/src/linux-source-.*\.tar\.')
	[ -n "$tarball" ] || die "$deb holds no kernel source tarball"
	dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "$tarball" |
		tar -C "$dest" -xJf - --strip-components=1
	strip_debian_gitignore "$dest"
}

base_id()
{
	if [ -n "${KERNEL_SRC:-}" ]; then
		[ -f "$KERNEL_SRC/Makefile" ] || die "KERNEL_SRC=$KERNEL_SRC is not a kernel tree"
		local v
		v=$(tree_version "$KERNEL_SRC")
		case "$v" in
		7.3.*|7.3) ;;
		*) die "KERNEL_SRC=$KERNEL_SRC is Linux ${v:-unknown}; this series needs 7.3.y" ;;
		esac
		echo "src:$(cd "$KERNEL_SRC" && pwd):$(git -C "$KERNEL_SRC" rev-parse HEAD 2>/dev/null || echo "$v")"
	else
		echo "deb:$BASE_PKG:$BASE_DEB_VERSION"
	fi
}

REPO=$CACHE/linux
want_id=$(base_id)
have_id=$(git -C "$REPO" config --get pkvm-its.base 2>/dev/null || true)
if [ "$have_id" = "$want_id" ] && git -C "$REPO" rev-parse -q --verify base >/dev/null; then
	exit 0
fi

mkdir -p "$CACHE"
tmp=$(mktemp -d "$CACHE/unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unpack_source "$tmp"
v=$(tree_version "$tmp")
case "$v" in
7.3.*) ;;
*) die "the base is Linux ${v:-unknown}, not 7.3.y" ;;
esac

if [ ! -d "$REPO/.git" ]; then
	git init -q -b master "$REPO"
	# git am needs a committer; keep the user's identity when there is one.
	if [ -z "$(git -C "$REPO" config user.email || true)" ]; then
		git -C "$REPO" config user.name "pkvm-its harness"
		git -C "$REPO" config user.email "pkvm-its@localhost"
	fi
fi
msg "committing Linux $v as the base (a minute or two)"
(
	cd "$REPO"
	export GIT_INDEX_FILE=$REPO/.git/index.base GIT_WORK_TREE=$tmp
	rm -f "$GIT_INDEX_FILE"
	git add -A -f .
	tree=$(git write-tree)
	# A fixed identity and date: the same source gives the same commit.
	export GIT_AUTHOR_NAME="Linux base" GIT_AUTHOR_EMAIL="base@localhost"
	export GIT_COMMITTER_NAME="Linux base" GIT_COMMITTER_EMAIL="base@localhost"
	commit=$(GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" \
		git commit-tree -m "Linux $v" -m "Base: $want_id" "$tree")
	git tag -f base "$commit" >/dev/null
	rm -f "$GIT_INDEX_FILE"
)
git -C "$REPO" config pkvm-its.base "$want_id"
msg "base is Linux $v ($(git -C "$REPO" rev-parse --short base))"
