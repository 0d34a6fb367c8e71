#!/bin/sh
# lint.sh cppcheck|format — the house style checks, run by ctest.
set -eu
cd "$(dirname "$0")/.."
case "$1" in
cppcheck)
	exec cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--std=c11 --inline-suppr --suppress=missingIncludeSystem \
		-I virtio/include -I vhost/include -I kernel/include -I arch/host/include \
		-I arch/aarch64/include -I arch/arm-common/include \
		-I devices/include \
		$(ls -d virtio vhost/src kernel arch apps devices 2>/dev/null) ;;
format)
	# Tracked files still on disk: one deleted in the working tree is gone
	# from the next commit too.
	# shellcheck disable=SC2046
	exec clang-format --dry-run --Werror $(for f in $(git ls-files '*.c' '*.h'); do
		[ -e "$f" ] && echo "$f"; done) ;;
*)
	echo "usage: $0 cppcheck|format" >&2
	exit 2 ;;
esac
