#!/usr/bin/env python3
"""Listens on 127.0.0.1:PORT, writes the first complete TLS ClientHello it receives (every byte,
record headers included, exactly as read) to OUT, then exits. Also reports how many recv() calls
(segments, roughly) and records the hello took."""
import socket, sys
port, out = int(sys.argv[1]), sys.argv[2]
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(8)
print("listening", flush=True)
conn, _ = srv.accept()
buf = b""; reads = 0
def complete(b):
    pos, hs, records = 0, b"", 0
    while len(b) >= pos + 5:
        ln = int.from_bytes(b[pos+3:pos+5], "big")
        if len(b) < pos + 5 + ln: return None
        hs += b[pos+5:pos+5+ln]; pos += 5 + ln; records += 1
        if len(hs) >= 4 and len(hs) >= 4 + int.from_bytes(hs[1:4], "big"):
            return records
    return None
conn.settimeout(10)
while True:
    d = conn.recv(65536)
    if not d: break
    buf += d; reads += 1
    r = complete(buf)
    if r: break
open(out, "wb").write(buf)
print(f"{out}: {len(buf)} bytes, {reads} reads, {r} records", flush=True)
conn.close()
