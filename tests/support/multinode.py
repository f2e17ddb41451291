"""The program the multi-node tests run on every node: the main node listens (on ``PORT``,
7000 by default), the others connect to the address Batch gave them for it and say hello,
then print where they reached it and the first line of each file ``ALSO_SHOW`` names."""

from __future__ import annotations

EXCHANGE = """
import os, socket, time
index = int(os.environ["AWS_BATCH_JOB_NODE_INDEX"])
port = int(os.environ.get("PORT", "7000"))
if index == 0:
    listener = socket.create_server(("0.0.0.0", port))
    listener.settimeout(60)
    connection, _ = listener.accept()
    print("main got", connection.recv(100).decode())
else:
    main = os.environ["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"]
    for _ in range(300):
        try:
            socket.create_connection((main, port), timeout=5).sendall(b"hello")
            break
        except OSError:
            time.sleep(0.1)
    shown = [open(p).readline().strip() for p in os.environ.get("ALSO_SHOW", "").split(",") if p]
    print("reached", main, *shown)
"""
