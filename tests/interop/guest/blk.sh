# Guest part of interop_blk / interop_blk_nomemslots:
# multi-queue O_DIRECT write + read-back verification on /dev/vda.
. /tests/lib.sh

wait_disk
check_disk
check_host_data

MB=${uvmb:-32}
JOBS=${uvjobs:-4}
runs0=$(hctx_runs)
blk_verify blk 0 "$MB" "$JOBS"
hctx_delta "$runs0" "$(hctx_runs)"
used=$hctx_used
log "blk-mq queue runs during the test: $hctx_text"
want=$JOBS
[ "$nq" -lt "$want" ] && want=$nq
[ "$NCPU" -lt "$want" ] && want=$NCPU
if [ "$used" -lt "$want" ]; then
    fail "only $used blk-mq queues saw requests, expected at least $want"
fi
log "$used of $nq virtqueues carried I/O"
