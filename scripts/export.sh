#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Export the work tree's branch back into this repository: patches/ and the
# overlay of files the series adds.
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<EOT
usage: ${0##*/}

Runs "git format-patch" over base..$BRANCH in $TREE into patches/, with
a cover letter (patches/0000-cover-letter.txt, so that "git am
patches/*.patch" works) that keeps the subject and text of the one
already there (edit them in that file; the shortlog and diffstat are
regenerated), and copies every file the series adds into the overlay directories
(arch/ drivers/ include/ tools/ Documentation/) of this repository,
removing overlay files the series no longer adds. Patch files keep stable
names and contents (zeroed commit ids; an unchanged cover letter keeps its
date).
EOT
}

case "${1:-}" in
-h|--help) usage; exit 0 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

OVERLAY_DIRS="arch drivers include tools Documentation"
cd "$TREE"
git rev-parse -q --verify "refs/heads/$BRANCH" >/dev/null || die "no branch $BRANCH in $TREE: run scripts/tree.sh"
[ "$(git symbolic-ref -q --short HEAD || true)" = "$BRANCH" ] || die "$TREE is not on $BRANCH"
[ -z "$(git status --porcelain --untracked-files=no)" ] || die "$TREE has uncommitted changes"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The cover letter's subject and text, from the current cover letter:
# the subject without "[PATCH nn/nn] ", and the text up to the shortlog
# ("Author Name (N):").
cover_description()
{
	awk '
	!hdr && /^Subject: / { subj = $0; sub(/^Subject: (\[[^]]*\] )?/, "", subj); insubj = 1; next }
	!hdr && insubj && /^ / { subj = subj $0; next }
	!hdr && /^$/ { hdr = 1; print subj; print ""; next }
	!hdr { insubj = 0; next }
	/^[^ ].* \([0-9]+\):$/ { exit }
	{ body[++n] = $0 }
	END { while (n > 0 && body[n] == "") n--; for (i = 1; i <= n; i++) print body[i] }
	' "$1"
}
[ -f "$TOP/patches/0000-cover-letter.txt" ] || die "no patches/0000-cover-letter.txt to take the cover letter from"
desc=$(cover_description "$TOP/patches/0000-cover-letter.txt")
git -c "branch.$BRANCH.description=$desc" \
	format-patch -q --cover-letter --cover-from-description=subject \
	--zero-commit --no-signature -o "$tmp" base.."$BRANCH"

# The cover letter is kept as 0000-cover-letter.txt, so that
# "git am patches/*.patch" applies the series (git am stops at a message
# without a diff). Keep the old one (and its date) when nothing else in it
# changed.
old=$TOP/patches/0000-cover-letter.txt
mv "$tmp"/0000-cover-letter.patch "$tmp/0000-cover-letter.txt"
new=$tmp/0000-cover-letter.txt
if [ -f "$old" ] && diff -q <(grep -v '^Date: ' "$old") <(grep -v '^Date: ' "$new") >/dev/null; then
	cp -p "$old" "$new"
fi
mkdir -p "$TOP/patches"
rm -f "$TOP"/patches/*.patch "$TOP"/patches/0000-cover-letter.txt
cp "$tmp"/*.patch "$tmp/0000-cover-letter.txt" "$TOP/patches/"

# The overlay: every file the series adds, as it is at the branch's tip.
git diff --name-only --diff-filter=A base "$BRANCH" >"$tmp/added"
for d in $OVERLAY_DIRS; do
	[ -d "$TOP/$d" ] && find "$TOP/$d" -type f -printf "$d/%P\n"
done | while read -r f; do
	grep -qxF "$f" "$tmp/added" || rm -f "$TOP/$f"
done
for d in $OVERLAY_DIRS; do
	[ -d "$TOP/$d" ] && find "$TOP/$d" -depth -type d -empty -delete
done
while read -r f; do
	case "${f%%/*}" in
	arch|drivers|include|tools|Documentation) ;;
	*) die "the series adds $f outside the overlay directories" ;;
	esac
	mkdir -p "$TOP/$(dirname "$f")"
	git show "$BRANCH:$f" >"$TOP/$f"
	[ ! -x "$f" ] || chmod +x "$TOP/$f"
done <"$tmp/added"

git config pkvm-its.patches "$(cat "$TOP"/patches/*.patch | sha1sum | cut -c1-40)"
git config pkvm-its.head "$(git rev-parse "$BRANCH")"
msg "exported $(git rev-list --count base.."$BRANCH") patches and $(wc -l <"$tmp/added") added files"
