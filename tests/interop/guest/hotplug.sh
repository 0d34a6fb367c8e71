# Guest part of interop_hotplug: I/O before, during and after a DIMM
# hot-add / hot-remove.  The host reacts to "UVTEST-WAIT hotadd|hotdel";
# the guest notices the result by watching /sys/devices/system/memory.
. /tests/lib.sh

wait_disk
check_disk
blk_verify base 0 8 2

MEMDIR=/sys/devices/system/memory
bs=$((0x$(cat $MEMDIR/block_size_bytes)))
before=$(mem_blocks | tr '\n' ' ')
log "memory: $(echo $before | wc -w) blocks of $((bs / 1048576)) MiB, MemTotal $(meminfo MemTotal) MiB, MemFree $(meminfo MemFree) MiB"

new_blocks() {
    for b in $(mem_blocks); do
        case " $before " in *" $b "*) ;; *) echo "$b" ;; esac
    done
}
all_online() {
    nb=$(new_blocks | tr '\n' ' ')
    [ -n "$nb" ] || return 1
    for b in $nb; do
        [ "$(cat $MEMDIR/memory$b/state 2>/dev/null)" = online ] || return 1
    done
}

hostwait hotadd
wait_for 60 all_online || fail "hot-added memory did not come online within 60 s (blocks now: $(mem_blocks | tr '\n' ' '))"
nb=$(new_blocks | tr '\n' ' ')
first=$(echo $nb | cut -d' ' -f1)
last=$(echo $nb | tr ' ' '\n' | tail -n1)
zones=$(cat $MEMDIR/memory$first/valid_zones 2>/dev/null)
log "hot-added blocks $first-$last online (zone: $zones), phys 0x$(printf %x $((first * bs)))-0x$(printf %x $(((last + 1) * bs - 1))), MemTotal $(meminfo MemTotal) MiB, MemFree $(meminfo MemFree) MiB"

# I/O whose buffers are entirely inside the new DIMM (checked via pagemap)
out=$(uvdio -b "$first-$last" -s 0x5eed "$DEV" $((16 * 1048576)) $((16 * 1048576)) 2>&1)
rc=$?
echo "$out" | while read -r l; do log "$l"; done
[ $rc -eq 0 ] || fail "O_DIRECT I/O with buffers in the hot-added DIMM failed: $(echo "$out" | tail -n1)"
sum=$(dd if=$DEV bs=1M skip=16 count=16 iflag=direct status=none | sha)
echo "UVTEST-DATA sha256 $((16 * 1048576)) $((16 * 1048576)) $sum"
# ordinary dd too: anonymous/page-cache pages now mostly come from ZONE_MOVABLE
blk_verify added 32 8 2

# free everything so the kernel can offline the DIMM
rm -f /tmp/pattern.* /tmp/rb.*
sync
echo 3 >/proc/sys/vm/drop_caches
hostwait hotdel
gone() { [ -z "$(new_blocks)" ]; }
wait_for 60 gone || fail "hot-removed memory blocks still present after 60 s: $(new_blocks | tr '\n' ' ') (state: $(cat $MEMDIR/memory$first/state 2>/dev/null))"
log "DIMM blocks $first-$last removed, MemTotal $(meminfo MemTotal) MiB"

blk_verify removed 40 8 2
out=$(uvdio -s 0x5eed2 "$DEV" $((48 * 1048576)) $((4 * 1048576)) 2>&1) ||
    fail "O_DIRECT I/O after hot-remove failed: $out"
log "$out"
