#!/usr/bin/env python3
"""uvhostd lifecycle test: no leaks across front-ends, and hostile input survived.

A minimal front-end in Python (stdlib: socket.send_fds, os.memfd_create, os.eventfd)
connects to uvhostd many times. Each session negotiates, adds memory regions with
real memfds, sets call/kick eventfds, sometimes sends garbage, and disconnects.
After every session the daemon must still accept a new front-end, and at the end
its open fds and memory mappings must be back at the baseline taken after the first
connection was accepted and dropped.

usage: daemon_lifecycle.py UVHOSTD [--cycles N]
"""
import argparse
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

GET_FEATURES, SET_FEATURES, SET_OWNER = 1, 2, 3
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL = 12, 13
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES = 15, 16
GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG = 36, 37, 38
SET_VRING_ENABLE = 18
NEED_REPLY = 1 << 3
PF_REPLY_ACK, PF_CONFIGURE_MEM_SLOTS = 3, 15
REGION = 2 * 1024 * 1024


def send(sock, req, payload=b"", fds=(), flags=1):
    data = struct.pack("<III", req, flags, len(payload)) + payload
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.sendall(data)


def recv(sock, req):
    hdr = b""
    while len(hdr) < 12:
        chunk = sock.recv(12 - len(hdr))
        if not chunk:
            raise ConnectionError("daemon closed the connection")
        hdr += chunk
    r, flags, size = struct.unpack("<III", hdr)
    body = b""
    while len(body) < size:
        body += sock.recv(size - len(body))
    if r != req or flags != 0x5:
        raise AssertionError(f"reply {r} flags {flags:#x} to request {req}")
    return body


def u64(v):
    return struct.pack("<Q", v)


def negotiate(sock):
    send(sock, GET_FEATURES)
    feats = struct.unpack("<Q", recv(sock, GET_FEATURES))[0]
    send(sock, GET_PROTOCOL_FEATURES)
    pf = struct.unpack("<Q", recv(sock, GET_PROTOCOL_FEATURES))[0]
    want = pf & ((1 << PF_REPLY_ACK) | (1 << PF_CONFIGURE_MEM_SLOTS))
    send(sock, SET_PROTOCOL_FEATURES, u64(want))
    send(sock, SET_OWNER)
    send(sock, SET_FEATURES, u64(feats), flags=1 | NEED_REPLY)
    assert struct.unpack("<Q", recv(sock, SET_FEATURES))[0] == 0
    send(sock, GET_MAX_MEM_SLOTS)
    return struct.unpack("<Q", recv(sock, GET_MAX_MEM_SLOTS))[0]


def add_region(sock, gpa, uaddr, expect_ok=True):
    fd = os.memfd_create("guest", 0)
    os.ftruncate(fd, REGION)
    payload = u64(0) + struct.pack("<QQQQ", gpa, REGION, uaddr, 0)
    send(sock, ADD_MEM_REG, payload, fds=[fd], flags=1 | NEED_REPLY)
    os.close(fd)
    ack = struct.unpack("<Q", recv(sock, ADD_MEM_REG))[0]
    assert (ack == 0) == expect_ok, f"ADD_MEM_REG gpa={gpa:#x} ack={ack}"


def session(path, cycle):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(100):
        try:
            sock.connect(path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.05)
    negotiate(sock)
    for i in range(4):
        add_region(sock, 0x100000000 + i * REGION, 0x7f0000000000 + i * REGION)
    add_region(sock, 0x100000000, 0x7f0000000000)              # exact duplicate: accepted
    add_region(sock, 0x100000000 + REGION // 2, 0x7e0000000000, expect_ok=False)  # overlap
    # ring 0 in the first region, with real eventfds for kick and call
    send(sock, SET_VRING_NUM, struct.pack("<II", 0, 128))
    base = 0x7f0000000000
    send(sock, SET_VRING_ADDR, struct.pack("<IIQQQQ", 0, 0, base, base + 0x2000, base + 0x1000, 0))
    send(sock, SET_VRING_BASE, struct.pack("<II", 0, 0))
    call, kick = os.eventfd(0), os.eventfd(0)
    send(sock, SET_VRING_CALL, u64(0), fds=[call])
    send(sock, SET_VRING_KICK, u64(0), fds=[kick])
    send(sock, SET_VRING_ENABLE, struct.pack("<II", 0, 1))
    os.close(call)
    os.close(kick)
    # an fd on REM must be closed by the daemon
    junk = os.memfd_create("junk", 0)
    send(sock, REM_MEM_REG, u64(0) + struct.pack("<QQQQ", 0x100000000 + 3 * REGION, REGION,
                                                     0x7f0000000000 + 3 * REGION, 0),
         fds=[junk], flags=1 | NEED_REPLY)
    os.close(junk)
    assert struct.unpack("<Q", recv(sock, REM_MEM_REG))[0] == 0
    hostile = cycle % 3
    if hostile == 1:
        sock.sendall(os.urandom(64))                       # garbage: daemon must drop us
    elif hostile == 2:
        send(sock, SET_VRING_NUM, struct.pack("<II", 4000, 128))  # ring index out of range
    else:
        send(sock, GET_VRING_BASE, struct.pack("<II", 0, 0))
        recv(sock, GET_VRING_BASE)
    sock.close()


def count(pid, what):
    if what == "fd":
        return len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/maps") as f:
        return sum(1 for _ in f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("uvhostd")
    ap.add_argument("--cycles", type=int, default=60)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="uvlife-")
    path = os.path.join(work, "vhost.sock")
    disk = os.path.join(work, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(8 * 1024 * 1024)
    log = open(os.path.join(work, "uvhostd.log"), "w+")
    d = subprocess.Popen([args.uvhostd, "--socket-path", path, "--device", "blk", "--disk", disk],
                         stderr=log)
    try:
        session(path, 0)
        time.sleep(0.2)
        base_fd, base_maps = count(d.pid, "fd"), count(d.pid, "maps")
        print(f"baseline after one session: {base_fd} fds, {base_maps} mappings")
        for c in range(1, args.cycles + 1):
            session(path, c)
        time.sleep(0.3)
        fds, maps = count(d.pid, "fd"), count(d.pid, "maps")
        print(f"after {args.cycles} more sessions (1/3 ending in garbage, 1/3 in a bad ring "
              f"index): {fds} fds, {maps} mappings")
        d.terminate()
        rc = d.wait(timeout=5)
        log.seek(0)
        text = log.read()
        closes = text.count("front-end disconnected")
        print(f"daemon saw {closes} disconnects, exited with {rc} on SIGTERM")
        ok = fds == base_fd and maps == base_maps and rc == 0 and closes == args.cycles + 1
        print("PASS" if ok else "FAIL")
        if not ok:
            print(text[-3000:])
        return 0 if ok else 1
    finally:
        if d.poll() is None:
            d.kill()


if __name__ == "__main__":
    sys.exit(main())
