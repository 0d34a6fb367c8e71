# Shared helpers for the guest test scripts (sourced, busybox ash).
# Parameters arrive as uv*= shell variables exported by /init.

DEV=/dev/vda
BLK=/sys/block/vda
NCPU=$(nproc)

log() { echo "UVTEST-LOG: $*"; }

fail() {
    echo "$*" >/run/uvtest-reason
    log "FAIL: $*"
    exit 1
}

# ask the host to do something; the host answers through the hardware
hostwait() { echo "UVTEST-WAIT $*"; }

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# elapsed seconds since $1 (an uptime_s value), 1 decimal
since() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }'; }

# MiB/s for $1 MiB in $2 seconds
rate() { awk -v m="$1" -v s="$2" 'BEGIN { if (s <= 0) s = 0.1; printf "%.1f", m / s }'; }

cpumask() { printf '%x' $((1 << ($1 % NCPU))); }

sha() { sha256sum | cut -d' ' -f1; }

meminfo() { awk -v k="$1:" '$1 == k { print int($2 / 1024) }' /proc/meminfo; }

# wait_for SECS CMD...: poll CMD every 0.2 s until it succeeds
wait_for() {
    _n=$(($1 * 5))
    shift
    while [ "$_n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.2
        _n=$((_n - 1))
    done
    return 1
}

# check_host_data: uvhostdata=OFF:LEN:SHA256 names bytes the host put on the
# disk before boot; they must read back the same, with O_DIRECT.
check_host_data() {
    [ -n "$uvhostdata" ] || return 0
    _ho=${uvhostdata%%:*}
    _hr=${uvhostdata#*:}
    _hl=${_hr%%:*}
    _hs=${_hr#*:}
    _got=$(dd if=$DEV bs=1M skip=$((_ho / 1048576)) count=$((_hl / 1048576)) iflag=direct \
        status=none | sha)
    [ "$_got" = "$_hs" ] ||
        fail "host data at $_ho (+$_hl): sha256 $_got, the host wrote $_hs"
    log "host data at $((_ho / 1048576)) MiB (+$_hl bytes) reads back intact"
    echo "UVTEST-HOSTDATA ok"
}

wait_disk() {
    wait_for 20 test -b "$DEV" -a -e "$BLK/size" || fail "no $DEV after 20 s (virtio-blk device missing?)"
}

# check_disk: size and queue count against uvdisk= / uvnq= from the host
check_disk() {
    sectors=$(cat "$BLK/size")
    bytes=$((sectors * 512))
    nq=$(ls -d "$BLK"/mq/* 2>/dev/null | wc -l)
    log "$DEV: $sectors sectors ($((bytes / 1048576)) MiB), $nq request queues in $BLK/mq"
    if [ -n "$uvdisk" ] && [ "$bytes" != "$uvdisk" ]; then
        fail "$DEV size is $bytes bytes, host created $uvdisk"
    fi
    if [ -n "$uvnq" ] && [ "$nq" != "$uvnq" ]; then
        fail "$BLK/mq has $nq queues, expected $uvnq"
    fi
}

# blk-mq debugfs "run" counters (times each hardware queue was run), one
# "hctxN=COUNT" word per queue.  Kernel 6.1 has no per-hctx request counter
# any more; a queue that carried requests was run at least once.
hctx_runs() {
    _s=""
    for d in /sys/kernel/debug/block/vda/hctx*; do
        [ -e "$d/run" ] || continue
        _s="$_s ${d##*/}=$(cat "$d/run")"
    done
    echo "${_s# }"
}

# hctx_delta BEFORE AFTER: sets $hctx_text (per-queue increase) and
# $hctx_used (number of queues that were run)
hctx_delta() {
    hctx_used=0
    _out=""
    for _a in $2; do
        _k=${_a%%=*}
        _new=${_a#*=}
        _old=0
        for _b in $1; do
            [ "${_b%%=*}" = "$_k" ] && _old=${_b#*=}
        done
        _d=$((_new - _old))
        [ "$_d" -gt 0 ] && hctx_used=$((hctx_used + 1))
        _out="$_out $_k=+$_d"
    done
    hctx_text="${_out# }"
}

# blk_verify TAG OFFSET_MIB SIZE_MIB JOBS
# Write SIZE MiB of random data at OFFSET with JOBS parallel O_DIRECT dd
# jobs (each pinned to its own CPU, hence its own blk-mq queue), drop caches,
# read back in parallel with O_DIRECT and compare per chunk and in total.
blk_verify() {
    _tag=$1 _off=$2 _mb=$3 _jobs=$4
    _ch=$((_mb / _jobs))
    dd if=/dev/urandom of=/tmp/pattern.$_tag bs=1M count="$_mb" status=none ||
        fail "$_tag: cannot generate test data"
    _sum=$(sha </tmp/pattern.$_tag)

    _t=$(uptime_s)
    _pids=""
    _j=0
    while [ $_j -lt "$_jobs" ]; do
        taskset "$(cpumask $_j)" dd if=/tmp/pattern.$_tag of=$DEV bs=1M \
            skip=$((_j * _ch)) seek=$((_off + _j * _ch)) count=$_ch \
            oflag=direct conv=notrunc,fsync status=none &
        _pids="$_pids $!"
        _j=$((_j + 1))
    done
    for _p in $_pids; do
        wait "$_p" || fail "$_tag: an O_DIRECT write job failed"
    done
    _wt=$(since "$_t")
    sync
    echo 3 >/proc/sys/vm/drop_caches

    _t=$(uptime_s)
    _pids=""
    _j=0
    while [ $_j -lt "$_jobs" ]; do
        (taskset "$(cpumask $_j)" dd if=$DEV bs=1M skip=$((_off + _j * _ch)) \
            count=$_ch iflag=direct status=none | sha >/tmp/rb.$_tag.$_j) &
        _pids="$_pids $!"
        _j=$((_j + 1))
    done
    for _p in $_pids; do
        wait "$_p" || fail "$_tag: an O_DIRECT read job failed"
    done
    _rt=$(since "$_t")
    _j=0
    while [ $_j -lt "$_jobs" ]; do
        _want=$(dd if=/tmp/pattern.$_tag bs=1M skip=$((_j * _ch)) count=$_ch status=none | sha)
        _got=$(cat /tmp/rb.$_tag.$_j)
        [ "$_want" = "$_got" ] ||
            fail "$_tag: chunk $_j (offset $((_off + _j * _ch)) MiB) read back $_got, wrote $_want"
        _j=$((_j + 1))
    done
    _all=$(dd if=$DEV bs=1M skip="$_off" count="$_mb" iflag=direct status=none | sha)
    [ "$_all" = "$_sum" ] || fail "$_tag: whole-range read back $_all, wrote $_sum"
    log "$_tag: $_mb MiB at offset $_off MiB in $_jobs parallel jobs: write $(rate "$_mb" "$_wt") MiB/s, read $(rate "$_mb" "$_rt") MiB/s, sha256 ${_sum} verified"
    echo "UVTEST-DATA sha256 $((_off * 1048576)) $((_mb * 1048576)) $_sum"
    rm -f /tmp/pattern.$_tag /tmp/rb.$_tag.*
}

# memory blocks currently present (sorted numbers)
mem_blocks() {
    for d in /sys/devices/system/memory/memory*; do
        echo "${d##*memory}"
    done | sort -n
}
