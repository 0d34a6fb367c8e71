#!/bin/bash
# bench/compare.sh - uvhostd next to qemu-storage-daemon (libvhost-user) in one run.
#
# Same machine, same front-end (uvhost-bench), same backing: a file on tmpfs
# for both, and "no storage" (uvhostd RAM disk if it has one, else its tmpfs
# file, against qsd's null-co which does no I/O at all). 4 KiB random reads
# at qd 1 and 32 (per queue), 1 and 4 queues, 1 and 32 memory regions; then
# uvhostd alone at 256 and 509 regions. Prints a markdown table, writes
# bench/out/compare.{md,dat,png}. Run after `make`; not part of ctest.
#
# usage: bench/compare.sh [--time SEC] [--long] [--rw randread|randwrite|read|write]
#        [--build DIR] [--no-pin]
#        bench/compare.sh --storage [--dir DIR] [--fe-poll] ...
#          the O_DIRECT comparison on a real disk instead: uvhostd --aio
#          io_uring --direct, qemu-storage-daemon aio=io_uring,cache.direct=on
#          and fio's raw limit (bench/uring_compare.sh, which takes the rest)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TIME=3
RW=randread
BUILD=$ROOT/build/host
PIN=1
while [ $# -gt 0 ]; do
	case "$1" in
	--time) TIME=$2; shift 2 ;;
	--long) TIME=15; shift ;;
	--rw) RW=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--no-pin) PIN=0; shift ;;
	--storage) shift; exec "$ROOT/bench/uring_compare.sh" "$@" ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

BENCH=$BUILD/uvhost-bench
UVHOSTD=$BUILD/uvhostd
OUT=$ROOT/bench/out
for b in "$BENCH" "$UVHOSTD"; do
	[ -x "$b" ] || { echo "compare.sh: $b missing: run make first" >&2; exit 1; }
done
command -v qemu-storage-daemon >/dev/null || { echo "compare.sh: qemu-storage-daemon missing" >&2; exit 1; }
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/uvcompare.XXXXXX)
DISK=/dev/shm/uvcompare-$$.img
DISK_BYTES=$((256 << 20))
truncate -s $DISK_BYTES "$DISK"
BE_PID=
cleanup() {
	[ -n "$BE_PID" ] && kill "$BE_PID" 2>/dev/null && wait "$BE_PID" 2>/dev/null
	rm -rf "$TMP" "$DISK"
}
trap cleanup EXIT

# Front-end on CPU 0, back-end on CPU 1 (when there are two): neither steals
# the other's core, for both back-ends alike.
FE_PIN=(); BE_PIN=()
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	FE_PIN=(taskset -c 0); BE_PIN=(taskset -c 1)
fi

wait_sock() {
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	echo "compare.sh: $1 never appeared" >&2
	return 1
}

stop_backend() {
	if [ -n "$BE_PID" ]; then
		kill "$BE_PID" 2>/dev/null || true
		wait "$BE_PID" 2>/dev/null || true
		BE_PID=
	fi
}

UVHOSTD_RAM=
UVHOSTD_NULL=
if "$UVHOSTD" --help 2>&1 | grep -q -- '--ram-size'; then UVHOSTD_RAM=1; fi
if "$UVHOSTD" --help 2>&1 | grep -q -- '--null-size'; then UVHOSTD_NULL=1; fi

# start_backend uvhostd|qsd file|null
start_backend() {
	local sock=$TMP/$1-$2.sock argv
	rm -f "$sock"
	case "$1-$2" in
	uvhostd-file) argv=("$UVHOSTD" --socket-path "$sock" --disk "$DISK" --num-queues 4) ;;
	uvhostd-null)
		if [ -n "$UVHOSTD_NULL" ]; then
			argv=("$UVHOSTD" --socket-path "$sock" --null-size $DISK_BYTES --num-queues 4)
		elif [ -n "$UVHOSTD_RAM" ]; then
			argv=("$UVHOSTD" --socket-path "$sock" --ram-size $DISK_BYTES --num-queues 4)
		else
			argv=("$UVHOSTD" --socket-path "$sock" --disk "$DISK" --num-queues 4)
		fi ;;
	qsd-file) argv=(qemu-storage-daemon --blockdev driver=file,filename="$DISK",node-name=d0
		--export type=vhost-user-blk,id=e0,node-name=d0,addr.type=unix,addr.path="$sock",writable=on,num-queues=4) ;;
	qsd-null) argv=(qemu-storage-daemon --blockdev driver=null-co,size=$DISK_BYTES,node-name=d0
		--export type=vhost-user-blk,id=e0,node-name=d0,addr.type=unix,addr.path="$sock",writable=on,num-queues=4) ;;
	esac
	# No subshell: BE_PID must be the back-end itself (taskset execs it).
	"${BE_PIN[@]}" "${argv[@]}" >"$TMP/$1-$2.log" 2>&1 &
	BE_PID=$!
	wait_sock "$sock"
	SOCK=$sock
}

# point QD QUEUES SLOTS -> "iops p50 p99" (or "ERR")
point() {
	local j
	if ! j=$("${FE_PIN[@]}" "$BENCH" --socket "$SOCK" --rw "$RW" --bs 4096 --qd "$1" \
		--num-queues "$2" --slots "$3" --time "$TIME" --size $DISK_BYTES --json --quiet); then
		echo "ERR"
		return
	fi
	python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("%d %.1f %.1f" % (r["iops"], r["lat_p50_us"], r["lat_p99_us"]))' "$j"
}

POINTS=("1 1 1" "1 1 32" "1 4 1" "1 4 32" "32 1 1" "32 1 32" "32 4 1" "32 4 32")
declare -A RES
for backing in file null; do
	for be in uvhostd qsd; do
		start_backend "$be" "$backing"
		for p in "${POINTS[@]}"; do
			set -- $p
			RES["$backing $be $p"]=$(point "$1" "$2" "$3")
			echo "  $backing $be qd=$1 queues=$2 slots=$3: ${RES["$backing $be $p"]}" >&2
		done
		if [ "$be" = uvhostd ] && [ "$backing" = file ]; then
			for s in 256 509; do
				for p in "1 1 $s" "32 4 $s"; do
					RES["$backing $be $p"]=$(point $p)
					echo "  $backing $be qd/queues/slots=$p: ${RES["$backing $be $p"]}" >&2
				done
			done
		fi
		stop_backend
	done
done

nullnote="qsd null-co does no I/O at all (no data copied); uvhostd"
if [ -n "$UVHOSTD_NULL" ]; then nullnote="$nullnote serves its null disk (--null-size), which also copies nothing: like for like"
elif [ -n "$UVHOSTD_RAM" ]; then nullnote="$nullnote serves a RAM disk"; else
	nullnote="$nullnote has no RAM disk option here and serves the tmpfs file"; fi
{
	echo "4 KiB $RW, ${TIME} s per point, qd per queue; IOPS and latency p50/p99 in µs."
	echo "Backing \`file\`: the same 256 MiB file on /dev/shm. Backing \`null\`: $nullnote."
	echo
	echo "| backing | qd | queues | slots | uvhostd IOPS | uvhostd p50/p99 | qsd IOPS | qsd p50/p99 | uvhostd / qsd |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for backing in file null; do
		for p in "${POINTS[@]}" "1 1 256" "32 4 256" "1 1 509" "32 4 509"; do
			u=${RES["$backing uvhostd $p"]:-}
			q=${RES["$backing qsd $p"]:-}
			[ -z "$u" ] && continue
			set -- $p
			read -r ui up50 up99 <<<"$u"
			if [ -n "$q" ] && [ "$q" != ERR ]; then
				read -r qi qp50 qp99 <<<"$q"
				ratio=$(python3 -c "print('%.2fx' % ($ui / $qi) if $qi else '-')" 2>/dev/null || echo -)
				qcol="$qi | $qp50 / $qp99"
			else
				qcol="${q:-n/a (qsd max 32 slots)} | -"
				ratio=-
			fi
			[ "$u" = ERR ] && { ui=ERR; up50=-; up99=-; ratio=-; }
			echo "| $backing | $1 | $2 | $3 | $ui | $up50 / $up99 | $qcol | $ratio |"
		done
	done
} | tee "$OUT/compare.md"

# Bar chart: IOPS of both back-ends per point.
{
	echo "# label uvhostd qsd"
	for backing in file null; do
		for p in "${POINTS[@]}"; do
			set -- $p
			u=${RES["$backing uvhostd $p"]%% *}
			q=${RES["$backing qsd $p"]%% *}
			[ "$u" = ERR ] && u=0
			[ "$q" = ERR ] && q=0
			echo "\"$backing qd$1 q$2 s$3\" $u $q"
		done
	done
} >"$OUT/compare.dat"
if command -v gnuplot >/dev/null; then
	gnuplot -e "datafile='$OUT/compare.dat'; outfile='$OUT/compare.png'" "$ROOT/bench/compare.gp"
	echo "chart: $OUT/compare.png" >&2
fi
