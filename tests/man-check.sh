#!/bin/sh
# tests/man-check.sh MANDIR — the manual pages render without a warning, and
# s3bridge(1) lists the options of `s3bridge mount --help` in its order.
#
# For every MANDIR/*.[1-9]:
#   LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 PAGE
#   groff -ww -z -man PAGE
# must print nothing on stderr (man's stdout, the rendered page, is thrown
# away), and the page rendered at 80 columns must fit in them (examples in
# no-fill mode overflow without a warning).  Then the options of the usage text in MANDIR/../fs/cli.c (the
# lines "  --name ..." and "  -x ...") must be the tags of the OPTIONS
# section of MANDIR/s3bridge.1, in the same order, and each long option's
# tag must give its -o form (-o name_with_underscores).
#
# Exit status: 0 all good, 1 a check failed, 77 man or groff is missing
# (ctest SKIP_RETURN_CODE).
set -u

dir=${1:?usage: man-check.sh MANDIR}
for tool in man groff; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed (Debian: apt-get install man-db groff-base)"
		exit 77
	fi
done

have_col=1
if ! command -v col >/dev/null 2>&1; then
	have_col=0
	echo "note: col(1) is missing (bsdextrautils): the 80-column check is skipped"
fi

fail=0
pages=0
for page in "$dir"/*.[1-9]; do
	[ -e "$page" ] || continue
	pages=$((pages + 1))
	bad=0
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 "$page" 2>&1 >/dev/null)
	if [ -n "$out" ]; then
		printf 'FAIL: man --warnings %s:\n%s\n' "$page" "$out"
		bad=1
	fi
	# no-fill text (examples) that overflows draws no warning: measure it
	width=0
	[ "$have_col" = 1 ] && width=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -E UTF-8 -l -Tutf8 "$page" 2>/dev/null |
		LC_ALL=C.UTF-8 col -bx | LC_ALL=C.UTF-8 wc -L)
	if [ "${width:-0}" -gt 80 ]; then
		printf 'FAIL: %s renders lines wider than 80 columns (%s):\n' "$page" "$width"
		LC_ALL=C.UTF-8 MANWIDTH=80 man -E UTF-8 -l -Tutf8 "$page" 2>/dev/null |
			LC_ALL=C.UTF-8 col -bx | LC_ALL=C.UTF-8 grep -n '.\{81,\}'
		bad=1
	fi
	out=$(groff -ww -z -man "$page" 2>&1)
	if [ -n "$out" ]; then
		printf 'FAIL: groff -ww -z -man %s:\n%s\n' "$page" "$out"
		bad=1
	fi
	if [ "$bad" = 0 ]; then
		echo "ok: $page renders without warnings in 80 columns"
	else
		fail=1
	fi
done
if [ "$pages" = 0 ]; then
	echo "FAIL: no manual pages in $dir"
	exit 1
fi

# The options of --help against the OPTIONS section of s3bridge(1).
cli=$dir/../fs/cli.c
man1=$dir/s3bridge.1
if [ ! -r "$cli" ] || [ ! -r "$man1" ]; then
	echo "FAIL: cannot read $cli or $man1"
	exit 1
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# "  --verify=MODE  ..." -> --verify; "  --uid N, --gid N" -> --uid
sed -n 's/^"  \(-[-a-z]*\).*/\1/p' "$cli" >"$tmp/help"
# top-level .TP tags of OPTIONS whose first word is an option:
# ".BI \-\-endpoint ..." -> --endpoint; ".BI \-\-verify= MODE" -> --verify
awk '
	/^\.SH / { in_opts = ($0 ~ /^\.SH OPTIONS/); next }
	!in_opts { next }
	/^\.RS/ { depth++ } /^\.RE/ { depth-- }
	/^\.TP/ { tag = (depth == 0); next }
	tag {
		tag = 0
		w = $2
		gsub(/\\-/, "-", w)
		sub(/=.*/, "", w)
		if (w ~ /^-/) print w
	}
' "$man1" >"$tmp/man"
if [ ! -s "$tmp/help" ]; then
	echo "FAIL: found no options in the usage text of $cli"
	fail=1
elif ! diff -u "$tmp/help" "$tmp/man" >"$tmp/diff"; then
	echo "FAIL: the OPTIONS of $man1 differ from s3bridge mount --help (fs/cli.c);"
	echo "      --- is --help, +++ is the manual page:"
	cat "$tmp/diff"
	fail=1
else
	echo "ok: s3bridge.1 lists the $(wc -l <"$tmp/help") options of --help in order"
fi

# each long option's tag names its -o form
while read -r opt; do
	case $opt in --*) ;; *) continue ;; esac
	o=$(printf '%s' "${opt#--}" | tr - _)
	# the tag line follows ".TP" and starts with the option
	line=$(awk -v want="$opt" '
		/^\.TP/ { getline t; w = t; sub(/^\.[A-Z]+ /, "", w); gsub(/\\-/, "-", w)
			  split(w, a, /[ =]/); if (a[1] == want) { print t; exit } }
	' "$man1" | sed 's/\\-/-/g; s/\\f[BIRP]//g; s/"//g')
	case $line in
	*"-o $o"*) ;;
	*)
		echo "FAIL: $man1: the tag of $opt does not give -o $o: $line"
		fail=1
		;;
	esac
done <"$tmp/help"

exit $fail
