"""The digital twin as a service: an HTTP server on 127.0.0.1 answering forecasts.

POST /predict {"t": ..., "x": ..., "v": ..., "steps": n} -> {"states": [[t, x, v], ...]}
POST /shutdown ends it. It publishes "127.0.0.1:PORT" in the `address` file once it listens,
logs every query (its output), and exits on SIGTERM or after `--idle` seconds without a query.
"""
import argparse
import json
import os
import signal
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np

from common import DT_TWIN, features

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--address", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--idle", type=float, default=60.0)
a = ap.parse_args()

weights = np.load(a.model)
state = {"stop": False, "last": time.monotonic()}
log = open(a.log, "w")


def forecast(t, x, v, steps):
    out = []
    for _ in range(steps):
        x, v = features(t, x, v)[0] @ weights
        t += DT_TWIN
        out.append([round(t, 6), float(x), float(v)])
    return out


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        state["last"] = time.monotonic()
        if self.path == "/shutdown":
            state["stop"], reply = True, {"ok": True}
        else:
            reply = {"states": forecast(body["t"], body["x"], body["v"], body["steps"])}
            log.write(json.dumps({"query": body, "forecast": reply["states"]}) + "\n")
            log.flush()
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep stderr quiet
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
server.timeout = 0.2
signal.signal(signal.SIGTERM, lambda *_: state.update(stop=True))
tmp = a.address + ".tmp"
with open(tmp, "w") as f:
    json.dump(f"127.0.0.1:{server.server_port}", f)
os.replace(tmp, a.address)
while not state["stop"] and time.monotonic() - state["last"] < a.idle:
    server.handle_request()
server.server_close()
log.close()
