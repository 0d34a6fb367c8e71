#!/bin/bash
# bench/uring_compare.sh - asynchronous O_DIRECT storage: uvhostd next to
# qemu-storage-daemon and next to the raw limit, in one run.
#
# One file on a real disk (default /var/tmp, never tmpfs: O_DIRECT must reach
# the device), filled with random data first so reads are real reads.
#   uvhostd --aio io_uring --direct --num-queues 4      (uvhost-bench front-end)
#   qemu-storage-daemon file,aio=io_uring,cache.direct=on (same front-end)
#   fio --ioengine=io_uring --direct=1 on the file itself, numjobs = queues,
#       iodepth = qd: the same number of requests outstanding, no vhost-user.
#       At qd > 1 fio runs twice, submitting one request per io_uring_enter
#       (its default) and in batches (iodepth_batch_submit 8, complete up to
#       qd); the better of the two is the limit.
#   uvhostd --null-size (no storage at all), same front-end: what the
#       vhost-user round trip alone costs. "floor" = fio and that round trip
#       back to back (1 / (1/fio + 1/null)): what any vhost-user back-end
#       could reach here if it added nothing of its own.
# 4 KiB randread and randwrite, qd 1 and 32 per queue, 1 and 4 queues. The
# three are measured point by point, one after the other, so a drift in the
# machine's load hits all three alike.
# --fe-poll: the front-end spins on the used rings instead of sleeping on the
# call eventfds (uvhost-bench --poll, like a guest with poll queues or a DPDK
# virtio-user front-end): what remains over fio is the back-end's own cost.
# qemu-storage-daemon 7.2 does not serve NOFD rings: its column is "-" then.
# In that mode fio also runs a second time with a busy loop on the front-end's
# CPU ("fio, CPU 0 busy"): on a virtual machine whose CPUs share the host with
# its disk, a spinning vCPU slows the disk down, and that is the limit a
# spinning front-end leaves any back-end.
# Prints a markdown table (also bench/out/uring_compare.md). Not in ctest.
#
# usage: bench/uring_compare.sh [--time SEC] [--dir DIR] [--size MIB] [--build DIR] [--no-pin]
#                               [--fe-poll]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TIME=3
DIR=/var/tmp
SIZE_MIB=512
BUILD=$ROOT/build/host
PIN=1
FE_POLL=()
while [ $# -gt 0 ]; do
	case "$1" in
	--time) TIME=$2; shift 2 ;;
	--dir) DIR=$2; shift 2 ;;
	--size) SIZE_MIB=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--no-pin) PIN=0; shift ;;
	--fe-poll) FE_POLL=(--poll); shift ;;
	-h|--help) sed -n '2,28p' "$0"; exit 0 ;;
	*) echo "uring_compare.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

BENCH=$BUILD/uvhost-bench
UVHOSTD=$BUILD/uvhostd
OUT=$ROOT/bench/out
for b in "$BENCH" "$UVHOSTD"; do
	[ -x "$b" ] || { echo "uring_compare.sh: $b missing: build it first" >&2; exit 1; }
done
for t in qemu-storage-daemon fio; do
	command -v $t >/dev/null || { echo "uring_compare.sh: $t missing (scripts/setup.sh)" >&2; exit 1; }
done
if [ "$(stat -f -c %T "$DIR")" = tmpfs ]; then
	echo "uring_compare.sh: $DIR is tmpfs: O_DIRECT would not reach a disk; use --dir" >&2
	exit 2
fi
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/uvuring.XXXXXX)
DISK=$DIR/uvuring-$$.img
DISK_BYTES=$((SIZE_MIB << 20))
BE_PID=
SPIN_PID=
cleanup() {
	[ -n "$SPIN_PID" ] && kill "$SPIN_PID" 2>/dev/null
	[ -n "$BE_PID" ] && kill "$BE_PID" 2>/dev/null && wait "$BE_PID" 2>/dev/null
	rm -rf "$TMP" "$DISK"
}
trap cleanup EXIT
echo "filling $DISK ($SIZE_MIB MiB of random data)" >&2
head -c $DISK_BYTES /dev/urandom >"$DISK"
sync "$DISK"

# Front-end on CPU 0, back-end (or fio) on CPU 1.
FE_PIN=(); BE_PIN=()
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	FE_PIN=(taskset -c 0); BE_PIN=(taskset -c 1)
fi

wait_sock() {
	for _ in $(seq 200); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	echo "uring_compare.sh: $1 never appeared" >&2
	return 1
}

stop_backend() {
	if [ -n "$BE_PID" ]; then
		kill "$BE_PID" 2>/dev/null || true
		wait "$BE_PID" 2>/dev/null || true
		BE_PID=
	fi
}

start_backend() {
	local sock=$TMP/$1.sock argv
	rm -f "$sock"
	case "$1" in
	uvhostd) argv=("$UVHOSTD" --socket-path "$sock" --disk "$DISK" --aio io_uring --direct
		--num-queues 4) ;;
	null) argv=("$UVHOSTD" --socket-path "$sock" --null-size $DISK_BYTES --num-queues 4) ;;
	qsd) argv=(qemu-storage-daemon
		--blockdev driver=file,filename="$DISK",node-name=d0,aio=io_uring,cache.direct=on
		--export type=vhost-user-blk,id=e0,node-name=d0,addr.type=unix,addr.path="$sock",writable=on,num-queues=4) ;;
	esac
	"${BE_PIN[@]}" "${argv[@]}" >"$TMP/$1.log" 2>&1 &
	BE_PID=$!
	wait_sock "$sock"
	SOCK=$sock
}

# vhost RW QD QUEUES -> "iops p50 p99" (or ERR)
vhost_point() {
	local j
	# A back-end that cannot serve the mode (qsd with --fe-poll: no NOFD
	# kicks) stalls the front-end: a bounded wait, then ERR.
	if ! j=$(timeout $((TIME + 30)) "${FE_PIN[@]}" "$BENCH" --socket "$SOCK" --rw "$1" --bs 4096 --qd "$2" \
		--num-queues "$3" --time "$TIME" --size $DISK_BYTES --json --quiet "${FE_POLL[@]}"); then
		echo "ERR"
		return
	fi
	python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("%d %.1f %.1f" % (r["iops"], r["lat_p50_us"], r["lat_p99_us"]))' "$j"
}

# fio RW QD QUEUES [extra fio options] -> "iops p50 p99": total latency
# (submission + completion, what the front-end sees), all jobs together.
fio_run() {
	local j rw=$1 qd=$2 nq=$3
	shift 3
	if ! j=$("${BE_PIN[@]}" fio --name=raw --filename="$DISK" --ioengine=io_uring --direct=1 \
		--rw="$rw" --bs=4096 --iodepth="$qd" --numjobs="$nq" --group_reporting=1 \
		--time_based=1 --runtime="$TIME" --size=$DISK_BYTES --randrepeat=0 \
		--lat_percentiles=1 "$@" --output-format=json 2>/dev/null); then
		echo "ERR"
		return
	fi
	python3 -c '
import json, sys
r = json.loads(sys.argv[1])["jobs"][0]
d = r["read"] if sys.argv[2].endswith("read") else r["write"]
p = d["lat_ns"]["percentile"]
print("%d %.1f %.1f" % (d["iops"], p["50.000000"] / 1e3, p["99.000000"] / 1e3))' "$j" "$rw"
}

# The raw limit: at qd > 1 the better of one submission per request and
# batched submissions (which one won is printed on stderr).
fio_point() {
	local one batched
	one=$(fio_run "$@")
	if [ "$2" -le 1 ]; then
		echo "$one"
		return
	fi
	batched=$(fio_run "$@" --iodepth_batch_submit=$(($2 < 8 ? $2 : 8)) \
		--iodepth_batch_complete_max="$2")
	echo "  fio $*: one per submit ${one%% *}, batched ${batched%% *}" >&2
	if [ "${batched%% *}" != ERR ] && { [ "${one%% *}" = ERR ] || [ "${batched%% *}" -gt "${one%% *}" ]; }; then
		echo "$batched"
	else
		echo "$one"
	fi
}

POINTS=("randread 1 1" "randread 32 1" "randread 1 4" "randread 32 4"
	"randwrite 1 1" "randwrite 32 1" "randwrite 1 4" "randwrite 32 4")
declare -A RES
for p in "${POINTS[@]}"; do
	RES["fio $p"]=$(fio_point $p)
	echo "  fio $p: ${RES["fio $p"]}" >&2
	BACKENDS=(uvhostd qsd null)
	if [ ${#FE_POLL[@]} -gt 0 ]; then
		BACKENDS=(uvhostd null)
		"${FE_PIN[@]}" sh -c 'while :; do :; done' &
		SPIN_PID=$!
		RES["fiobusy $p"]=$(fio_point $p)
		kill $SPIN_PID
		wait $SPIN_PID 2>/dev/null || true
		SPIN_PID=
		echo "  fio, CPU 0 busy, $p: ${RES["fiobusy $p"]}" >&2
	fi
	for be in "${BACKENDS[@]}"; do
		start_backend $be
		RES["$be $p"]=$(vhost_point $p)
		echo "  $be $p: ${RES["$be $p"]}" >&2
		stop_backend
	done
done

{
	echo "4 KiB, ${TIME} s per point, qd per queue (fio: iodepth per job, one job per queue);"
	echo "front-end: uvhost-bench ${FE_POLL[*]:-sleeping on the call eventfds}; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
	echo "IOPS and total latency p50 / p99 in µs. File: $SIZE_MIB MiB on $(df --output=fstype "$DIR" | tail -1) ($DIR), O_DIRECT for all three."
	echo "null: uvhostd with no storage (the vhost-user round trip alone); floor: fio and that round trip back to back."
	echo
	if [ ${#FE_POLL[@]} -gt 0 ]; then
		echo "| rw | qd | queues | fio IOPS | fio p50/p99 | fio, CPU 0 busy | uvhostd IOPS | uvhostd p50/p99 | null IOPS | uvhostd / fio | uvhostd / fio with CPU 0 busy |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	else
		echo "| rw | qd | queues | fio IOPS | fio p50/p99 | uvhostd IOPS | uvhostd p50/p99 | qsd IOPS | qsd p50/p99 | null IOPS | floor IOPS | uvhostd / fio | uvhostd / floor | uvhostd / qsd |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	fi
	for p in "${POINTS[@]}"; do
		set -- $p
		read -r fi fp50 fp99 _ <<<"${RES["fio $p"]} - - -"
		read -r ui up50 up99 _ <<<"${RES["uvhostd $p"]} - - -"
		read -r ni _ <<<"${RES["null $p"]} - - -"
		rf=$(python3 -c "print('%.2f' % ($ui / $fi))" 2>/dev/null || echo -)
		if [ ${#FE_POLL[@]} -gt 0 ]; then
			read -r bi _ <<<"${RES["fiobusy $p"]} - - -"
			rb=$(python3 -c "print('%.2f' % ($ui / $bi))" 2>/dev/null || echo -)
			echo "| $1 | $2 | $3 | $fi | $fp50 / $fp99 | $bi | $ui | $up50 / $up99 | $ni | $rf | $rb |"
			continue
		fi
		read -r qi qp50 qp99 _ <<<"${RES["qsd $p"]} - - -"
		fl=$(python3 -c "print('%d' % (1 / (1 / $fi + 1 / $ni)))" 2>/dev/null || echo -)
		rl=$(python3 -c "print('%.2f' % ($ui / $fl))" 2>/dev/null || echo -)
		rq=$(python3 -c "print('%.2f' % ($ui / $qi))" 2>/dev/null || echo -)
		echo "| $1 | $2 | $3 | $fi | $fp50 / $fp99 | $ui | $up50 / $up99 | $qi | $qp50 / $qp99 | $ni | $fl | $rf | $rl | $rq |"
	done
} | tee "$OUT/uring_compare${FE_POLL:+_poll}.md"
