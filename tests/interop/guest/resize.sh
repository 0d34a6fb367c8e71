# Guest part of interop_resize: the host grows the disk image and sends
# SIGHUP to uvhostd, which sends CONFIG_CHANGE_MSG; QEMU re-reads the
# config space and raises a config interrupt, and virtio_blk updates the
# capacity.  The guest then does verified I/O in the newly added range.
# Parameters: uvdisk= (bytes before), uvnewdisk= (bytes after), uvnq=,
# uvresizewait= (seconds to wait for the new size, default 30).
. /tests/lib.sh

wait_disk
check_disk
[ -n "$uvnewdisk" ] || fail "no uvnewdisk= on the kernel command line"
old=$((uvdisk / 512))
new=$((uvnewdisk / 512))
oldmb=$((uvdisk / 1048576))
addmb=$(((uvnewdisk - uvdisk) / 1048576))

blk_verify base 0 8 2
base_sum=$_sum

# Before the resize, the old end really is the end: a read there gets nothing.
got=$(dd if=$DEV bs=1M skip="$oldmb" count=1 iflag=direct status=none 2>/dev/null | wc -c)
[ "$got" -eq 0 ] || fail "read $got bytes beyond the end of the $oldmb MiB disk before the resize"
log "$DEV: $(cat $BLK/size) sectors before the resize; reading at $oldmb MiB returns 0 bytes"

size_is_new() { [ "$(cat $BLK/size)" = "$new" ]; }
t=$(uptime_s)
hostwait resize
wait_for "${uvresizewait:-30}" size_is_new ||
    fail "$BLK/size is still $(cat $BLK/size) sectors ${uvresizewait:-30} s after the host grew the disk to $new sectors"
log "$BLK/size changed $old -> $(cat $BLK/size) sectors ($((uvnewdisk / 1048576)) MiB) $(since "$t") s after asking the host"
dmesg | grep -E 'vda.*(new size|capacity change)' | while read -r l; do log "kernel: ${l#*] }"; done

# The new range, beyond the old end: write, read back, verify (and the host
# re-checks the same bytes in the image).
blk_verify grown "$oldmb" "$addmb" 2
# the data written before the resize is untouched
sum=$(dd if=$DEV bs=1M count=8 iflag=direct status=none | sha)
[ "$sum" = "$base_sum" ] || fail "the first 8 MiB changed across the resize: read $sum, wrote $base_sum"
log "the 8 MiB written before the resize still read back with sha256 $(echo "$sum" | cut -c1-16)..."
