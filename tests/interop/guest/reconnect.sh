# Guest part of interop_reconnect: continuous verified I/O while the host
# SIGKILLs and restarts the vhost-user back-end.
. /tests/lib.sh

wait_disk
check_disk

ROUNDS=${uvrounds:-8}
MB=4   # worker J cycles through six 4 MiB slots at 24*J MiB
JOBS=2

# worker J: ROUNDS x (fresh random 4 MiB, O_DIRECT write, O_DIRECT read, compare)
worker() {
    _j=$1
    _r=0
    while [ $_r -lt "$ROUNDS" ]; do
        _off=$((_j * 24 + (_r % 6) * MB))
        dd if=/dev/urandom of=/tmp/w$_j bs=1M count=$MB status=none || exit 2
        _want=$(sha </tmp/w$_j)
        taskset "$(cpumask $_j)" dd if=/tmp/w$_j of=$DEV bs=64k seek=$((_off * 16)) \
            oflag=direct conv=notrunc,fsync status=none || { echo "write failed at $_off MiB" >/tmp/err$_j; exit 1; }
        _got=$(taskset "$(cpumask $_j)" dd if=$DEV bs=64k skip=$((_off * 16)) count=$((MB * 16)) \
            iflag=direct status=none | sha)
        if [ "$_got" != "$_want" ]; then
            echo "mismatch at $_off MiB: wrote $_want read $_got" >/tmp/err$_j
            exit 1
        fi
        echo "UVTEST-DATA sha256 $((_off * 1048576)) $((MB * 1048576)) $_want"
        _r=$((_r + 1))
    done
}

# sampler: longest interval in which requests were in flight but none
# completed (fields 1, 5, 9 of /sys/block/vda/stat); no forks per sample
sampler() {
    _last="" _since=0 _best=0 _maxif=0
    while [ ! -e /tmp/stop-sampler ]; do
        read -r _rd _ _ _ _wr _ _ _ _if _ <$BLK/stat
        read -r _up _ </proc/uptime
        _now=$((${_up%.*} * 100 + 1${_up#*.} - 100))
        [ "$_if" -gt "$_maxif" ] && _maxif=$_if
        if [ "$_if" -gt 0 ] && [ "$_rd $_wr" = "$_last" ]; then
            [ $((_now - _since)) -gt "$_best" ] && _best=$((_now - _since))
        else
            _since=$_now
        fi
        _last="$_rd $_wr"
        sleep 0.1
    done
    echo "$_best $_maxif" >/tmp/stall
}

sampler &
ps=$!
t=$(uptime_s)
worker 0 &
p0=$!
worker 1 &
p1=$!
# let the loops get going, then ask the host to kill the back-end mid-I/O
sleep 1
hostwait kill
wait $p0 || fail "worker 0: $(cat /tmp/err0 2>/dev/null)"
wait $p1 || fail "worker 1: $(cat /tmp/err1 2>/dev/null)"
log "$JOBS workers x $ROUNDS rounds x $MB MiB written and verified in $(since "$t")s across the back-end restart"
touch /tmp/stop-sampler
wait $ps
read -r stall maxif </tmp/stall
log "longest stall with requests in flight: $((stall / 100)).$(printf %02d $((stall % 100))) s (max in_flight $maxif)"
[ "$stall" -ge "${uvminstall:-50}" ] ||
    fail "guest I/O never stalled for ${uvminstall:-50}0 ms: the back-end outage did not hit in-flight I/O"
blk_verify after 48 8 2
