#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Make (or refresh) the kernel work tree: branch pkvm-its = base + patches/.
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<EOT
usage: ${0##*/} [--force]

Checks out branch $BRANCH in $TREE with every patch of patches/ applied
by "git am" on top of tag "base" (fetching the base first if needed), and
prints the tree's path. Nothing happens when the branch already holds
exactly patches/. Commits on the branch that were not exported with
scripts/export.sh are never thrown away silently: use --force for that.
EOT
}

force=
case "${1:-}" in
-h|--help) usage; exit 0 ;;
--force) force=1 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

"$TOP/scripts/fetch-base.sh"
cd "$TREE"

stamp=$(cat "$TOP"/patches/*.patch 2>/dev/null | sha1sum | cut -c1-40)
head=$(git rev-parse -q --verify "refs/heads/$BRANCH" || true)
if [ -n "$head" ]; then
	if [ "$(git config --get pkvm-its.patches || true)" = "$stamp" ] &&
	   [ "$(git config --get pkvm-its.head || true)" = "$head" ] &&
	   [ "$(git rev-parse -q --verify HEAD || true)" = "$head" ]; then
		echo "$TREE"
		exit 0
	fi
	if [ -z "$force" ] && [ "$(git config --get pkvm-its.head || true)" != "$head" ]; then
		die "$BRANCH in $TREE has commits that were not exported; run scripts/export.sh or use --force"
	fi
fi
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] &&
   [ -z "$force" ] && git rev-parse -q --verify HEAD >/dev/null; then
	die "$TREE has uncommitted changes; commit or stash them, or use --force"
fi

msg "applying patches/ onto base in $TREE"
git am --abort >/dev/null 2>&1 || true
git checkout -q -f -B "$BRANCH" base
set -- "$TOP"/patches/*.patch
if [ -e "$1" ]; then
	if ! git am -q --keep-cr "$@"; then
		bad=$(git am --show-current-patch=raw 2>/dev/null | sed -n 's/^Subject: //p' | head -n 1)
		git am --abort || true
		die "patch does not apply to the base: ${bad:-unknown} (see patches/)"
	fi
fi
git config pkvm-its.patches "$stamp"
git config pkvm-its.head "$(git rev-parse HEAD)"
msg "$BRANCH: $(git rev-list --count base..HEAD) patches on base"
echo "$TREE"
