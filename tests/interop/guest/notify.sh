# Guest part of bench/notify.sh: what notifications cost, with one workload
# for every mode (doorbells, in-band, polling): 4 KiB O_DIRECT reads at
# queue depth 1 (latency) and 32 (IOPS), then an idle spell the host
# measures on the service VM (idle-start / idle-end).
. /tests/lib.sh

wait_disk
check_disk

N1=${uvqd1:-2000}
N32=${uvqd32:-200}
IDLE=${uvidle:-5}

# seconds with 10 ms resolution, 3 decimals
now() { cut -d' ' -f1 /proc/uptime; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

t0=$(now)
dd if=$DEV of=/dev/null bs=4k count="$N1" iflag=direct status=none || fail "qd1 reads failed"
t=$(dt "$t0" "$(now)")
log "bench qd1: $N1 reads of 4 KiB in $t s: $(awk -v n="$N1" -v t="$t" 'BEGIN { printf "%.0f", t * 1e6 / n }') us per read"

t0=$(now)
i=0
while [ "$i" -lt 32 ]; do
    dd if=$DEV of=/dev/null bs=4k count="$N32" skip=$((i * N32)) iflag=direct status=none &
    i=$((i + 1))
done
wait || true
t=$(dt "$t0" "$(now)")
log "bench qd32: $((32 * N32)) reads of 4 KiB by 32 readers in $t s: $(awk -v n=$((32 * N32)) -v t="$t" 'BEGIN { printf "%.0f", n / t }') IOPS"

sync
sleep 1
hostwait idle-start
sleep "$IDLE"
hostwait idle-end
sleep 1
