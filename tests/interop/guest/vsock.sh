# Guest part of interop_vsock: AF_VSOCK streams through a vhost-user-vsock
# device served by uvhostd, whose host side is hybrid vsock (Unix sockets).
#   1. host -> guest: the host opens uvvsconns connections with
#      "CONNECT 5000"; each sends uvvsmib MiB; the first guest reader is slow
#   2. guest -> host: as many connections to host port 6000 (the host reads
#      one of them slowly); the host answers bytes + CRC-32, checked here
#   3. line echo on port 1024 ("echo <text>" -> "<text>"), driven by the host
. /tests/lib.sh

MIB=${uvvsmib:-8}
N=${uvvsconns:-4}
SLOW_US=${uvvsslow:-400}

wait_for 20 test -e /dev/vsock || fail "no /dev/vsock (vsock modules: $(lsmod | grep -c vsock))"
log "vsock: /dev/vsock present; $N connections of $MIB MiB each way"

uvvsock sink 5000 "$N" "$SLOW_US" &
sink=$!
uvvsock echo 1024 1 &
echo_pid=$!
sleep 0.3
hostwait vsock-h2g 5000 "$N" "$MIB"
wait "$sink" || fail "host -> guest transfer failed (see the h2g lines)"

t=$(uptime_s)
pids=""
i=1
while [ "$i" -le "$N" ]; do
    uvvsock send 2 6000 $((MIB * 1048576)) "$i" &
    pids="$pids $!"
    i=$((i + 1))
done
for p in $pids; do
    wait "$p" || fail "guest -> host transfer failed (see the g2h lines)"
done
dt=$(since "$t")
log "g2h: $N x $MIB MiB in ${dt}s: $(rate $((N * MIB)) "$dt") MiB/s aggregate"

hostwait vsock-echo 1024
wait "$echo_pid" || fail "echo server failed"
log "vsock: all transfers verified"
