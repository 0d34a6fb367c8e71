#!/usr/bin/env python3
"""uvhostd against a front-end whose fds do not back what it claims.

The crash this pins: a memory region larger than the file behind its fd used
to be mapped as sent (mmap maps past the end of a file), and a ring placed in
the part the file does not have killed uvhostd with SIGBUS on first touch.
qemu-storage-daemon 7.2 has the same crash. Every case below must be refused
with a non-zero REPLY_ACK, and after all of them the daemon must still be
running, must have no mapping of the hostile files, and must serve a clean
session.

Cases, each on its own connection:
  1. ADD_MEM_REG: 4 KiB memfd sent as a 2 MiB region; then a ring is placed
     in the missing part and kicked (what crashed the daemon).
  2. ADD_MEM_REG: mmap_offset past the end of the file.
  3. ADD_MEM_REG: a pipe, and a socket, as the region's fd.
  4. SET_MEM_TABLE: one good region and one larger than its file.
  5. SET_INFLIGHT_FD: a memfd half the size that mmap_size claims.
  6. ADD_MEM_REG accepted, then the front-end shrinks the file under the
     mapping and starts a ring in the part that is gone: the daemon absorbs
     the SIGBUS (zero pages) and drops that front-end with an error.

usage: daemon_hostile_maps.py UVHOSTD
"""
import argparse
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

from daemon_lifecycle import (ADD_MEM_REG, GET_FEATURES, GET_MAX_MEM_SLOTS,
                              GET_PROTOCOL_FEATURES, NEED_REPLY, PF_CONFIGURE_MEM_SLOTS,
                              PF_REPLY_ACK, SET_FEATURES, SET_OWNER, SET_PROTOCOL_FEATURES,
                              SET_VRING_ADDR, SET_VRING_BASE, SET_VRING_CALL, SET_VRING_ENABLE,
                              SET_VRING_KICK, SET_VRING_NUM, recv, send, u64)

SET_MEM_TABLE, GET_INFLIGHT_FD, SET_INFLIGHT_FD = 5, 31, 32
PF_INFLIGHT_SHMFD = 12
PAGE = 4096
BIG = 2 * 1024 * 1024
GPA, UADDR = 0x100000000, 0x7F0000000000


def connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(100):
        try:
            sock.connect(path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.05)
    raise RuntimeError(f"cannot connect to {path}")


def negotiate(sock):
    """REPLY_ACK, memory slots and inflight tracking, all required."""
    send(sock, GET_FEATURES)
    feats = struct.unpack("<Q", recv(sock, GET_FEATURES))[0]
    send(sock, GET_PROTOCOL_FEATURES)
    pf = struct.unpack("<Q", recv(sock, GET_PROTOCOL_FEATURES))[0]
    want = (1 << PF_REPLY_ACK) | (1 << PF_CONFIGURE_MEM_SLOTS) | (1 << PF_INFLIGHT_SHMFD)
    if pf & want != want:
        raise AssertionError(f"uvhostd offers protocol features {pf:#x}, lacking {want & ~pf:#x}")
    send(sock, SET_PROTOCOL_FEATURES, u64(want))
    send(sock, SET_OWNER)
    send(sock, SET_FEATURES, u64(feats), flags=1 | NEED_REPLY)
    assert struct.unpack("<Q", recv(sock, SET_FEATURES))[0] == 0
    send(sock, GET_MAX_MEM_SLOTS)
    return struct.unpack("<Q", recv(sock, GET_MAX_MEM_SLOTS))[0]


def memfd(size):
    fd = os.memfd_create("hostile", 0)
    os.ftruncate(fd, size)
    return fd


def ack(sock, req):
    return struct.unpack("<Q", recv(sock, req))[0]


def add_region(sock, fd, size, offset=0):
    payload = u64(0) + struct.pack("<QQQQ", GPA, size, UADDR, offset)
    send(sock, ADD_MEM_REG, payload, fds=[fd], flags=1 | NEED_REPLY)
    return ack(sock, ADD_MEM_REG)


def case_region_larger_than_file(path):
    sock = connect(path)
    negotiate(sock)
    fd = memfd(PAGE)
    a = add_region(sock, fd, BIG)
    os.close(fd)
    # The ring lives in the second page: there is no such page in the file.
    ring = UADDR + 16 * PAGE
    call, kick = os.eventfd(0), os.eventfd(0)
    # The daemon may drop the connection at any of these (the ring's
    # addresses are in no mapped region): that is a fine outcome.
    try:
        send(sock, SET_VRING_NUM, struct.pack("<II", 0, 128))
        send(sock, SET_VRING_ADDR, struct.pack("<IIQQQQ", 0, 0, ring, ring + 0x1000, ring + 0x800,
                                               0))
        send(sock, SET_VRING_BASE, struct.pack("<II", 0, 0))
        send(sock, SET_VRING_CALL, u64(0), fds=[call])
        send(sock, SET_VRING_KICK, u64(0), fds=[kick])
        send(sock, SET_VRING_ENABLE, struct.pack("<II", 0, 1))
        os.eventfd_write(kick, 1)
    except OSError:
        pass  # the daemon may drop a connection whose ring cannot be mapped
    time.sleep(0.3)
    os.close(call)
    os.close(kick)
    sock.close()
    return a


def case_offset_past_end(path):
    sock = connect(path)
    negotiate(sock)
    fd = memfd(BIG)
    a = add_region(sock, fd, PAGE, offset=BIG)
    os.close(fd)
    sock.close()
    return a


def case_not_a_file(path):
    sock = connect(path)
    negotiate(sock)
    r, w = os.pipe()
    s1, s2 = socket.socketpair()
    a = (add_region(sock, r, PAGE), add_region(sock, s1.fileno(), PAGE))
    for f in (r, w):
        os.close(f)
    s1.close()
    s2.close()
    sock.close()
    return a


def case_mem_table(path):
    sock = connect(path)
    negotiate(sock)
    good, small = memfd(BIG), memfd(PAGE)
    regions = struct.pack("<QQQQ", GPA, BIG, UADDR, 0)
    regions += struct.pack("<QQQQ", GPA + BIG, BIG, UADDR + BIG, 0)
    send(sock, SET_MEM_TABLE, struct.pack("<II", 2, 0) + regions, fds=[good, small],
         flags=1 | NEED_REPLY)
    a = ack(sock, SET_MEM_TABLE)
    os.close(good)
    os.close(small)
    sock.close()
    return a


def case_inflight(path):
    sock = connect(path)
    negotiate(sock)
    # Learn the size the daemon wants for 1 ring of 64 from GET_INFLIGHT_FD,
    # then hand back a file half that size.
    send(sock, GET_INFLIGHT_FD, struct.pack("<QQHH4x", 0, 0, 1, 64))
    body, fds = recv_with_fds(sock, GET_INFLIGHT_FD)
    for f in fds:
        os.close(f)
    need = struct.unpack("<Q", body[:8])[0]
    fd = memfd(need // 2)
    send(sock, SET_INFLIGHT_FD, struct.pack("<QQHH4x", need, 0, 1, 64), fds=[fd],
         flags=1 | NEED_REPLY)
    a = ack(sock, SET_INFLIGHT_FD)
    os.close(fd)
    sock.close()
    return a


def recv_with_fds(sock, req):
    msg, fds, _, _ = socket.recv_fds(sock, 12 + 24, 4)
    r, flags, size = struct.unpack("<III", msg[:12])
    if r != req or flags != 0x5 or size != 24 or len(msg) != 36:
        raise AssertionError(f"reply {r} flags {flags:#x} size {size} to request {req}")
    return msg[12:], fds


def case_shrunk_after_map(path):
    sock = connect(path)
    negotiate(sock)
    fd = memfd(BIG)
    a = add_region(sock, fd, BIG)
    if a != 0:
        raise AssertionError(f"a good 2 MiB region was refused ({a})")
    os.ftruncate(fd, PAGE)
    ring = UADDR + 16 * PAGE
    call, kick = os.eventfd(0), os.eventfd(0)
    dropped = False
    try:
        send(sock, SET_VRING_NUM, struct.pack("<II", 0, 128))
        send(sock, SET_VRING_ADDR,
             struct.pack("<IIQQQQ", 0, 0, ring, ring + 0x1000, ring + 0x800, 0))
        send(sock, SET_VRING_BASE, struct.pack("<II", 0, 0))
        send(sock, SET_VRING_CALL, u64(0), fds=[call])
        send(sock, SET_VRING_KICK, u64(0), fds=[kick])
        send(sock, SET_VRING_ENABLE, struct.pack("<II", 0, 1))
        os.eventfd_write(kick, 1)
        sock.settimeout(5)
        dropped = sock.recv(1) == b""
    except OSError:
        dropped = True
    os.close(call)
    os.close(kick)
    os.close(fd)
    sock.close()
    # "Refused" here means the daemon dropped the connection.
    return 0 if not dropped else -1


def hostile_maps(pid):
    with open(f"/proc/{pid}/maps") as f:
        return [line.strip() for line in f if "hostile" in line]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("uvhostd")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="uvhostile-")
    path = os.path.join(work, "vhost.sock")
    disk = os.path.join(work, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(8 * 1024 * 1024)
    log = open(os.path.join(work, "uvhostd.log"), "w+")
    d = subprocess.Popen([args.uvhostd, "--socket-path", path, "--device", "blk", "--disk", disk],
                         stderr=log)
    failures = []
    try:
        cases = [
            ("ADD_MEM_REG 2 MiB region on a 4 KiB file, ring in the missing part",
             case_region_larger_than_file),
            ("ADD_MEM_REG mmap_offset past the end of the file", case_offset_past_end),
            ("ADD_MEM_REG on a pipe and on a socket", case_not_a_file),
            ("SET_MEM_TABLE with one region larger than its file", case_mem_table),
            ("SET_INFLIGHT_FD larger than its file", case_inflight),
            ("file shrunk under a live mapping, ring started there", case_shrunk_after_map),
        ]
        for name, fn in cases:
            try:
                a = fn(path)
            except (ConnectionError, OSError, AssertionError, struct.error) as e:
                a = f"connection lost ({e})"
            acks = a if isinstance(a, tuple) else (a,)
            refused = all(isinstance(x, int) and x != 0 for x in acks)
            alive = d.poll() is None
            print(f"{'ok ' if refused and alive else 'BAD'} {name}: ack {a}, "
                  f"daemon {'running' if alive else f'DEAD (status {d.returncode})'}")
            if not (refused and alive):
                failures.append(name)
            if not alive:
                break
        if d.poll() is None:
            time.sleep(0.2)
            left = hostile_maps(d.pid)
            if left:
                failures.append(f"mappings of hostile files left: {left}")
            # A clean session still works.
            sock = connect(path)
            slots = negotiate(sock)
            fd = memfd(BIG)
            a = add_region(sock, fd, BIG)
            os.close(fd)
            sock.close()
            print(f"clean session afterwards: {slots} slots offered, good region ack {a}")
            if a != 0:
                failures.append("a good region was refused afterwards")
        log.seek(0)
        text = log.read()
        for line in text.splitlines():
            if "map refused" in line or "shrank" in line:
                print("  daemon said:", line)
        print("PASS" if not failures else f"FAIL: {failures}")
        if failures:
            print(text[-3000:])
        return 0 if not failures else 1
    finally:
        if d.poll() is None:
            d.kill()


if __name__ == "__main__":
    sys.exit(main())
