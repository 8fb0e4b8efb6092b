#!/usr/bin/env python3
"""cache_bench.py - the result cache's effect (make bench-cache): one server
with --cache-mb and one without, the same workload against each, in turns:
N requests of one text from C concurrent clients, half of the texts drawn
from a set of 100 that repeat, half never seen. Prints requests/s and the
median and 99th-percentile latency of each, and the cache's hit count.

    python3 tests/cache_bench.py TINYEMBED MODEL [N] [C]
"""
import http.client
import json
import random
import re
import subprocess
import sys
import threading
import time


def start(binary, model, extra):
    p = subprocess.Popen([binary, "serve", "--port", "0", "-m", model] + extra, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        m = re.search(r"listening on http://[^:]+:(\d+)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
            return p, int(m.group(1))
    raise SystemExit("the server did not start")


def run(port, texts, clients):
    lat, lock, it = [], threading.Lock(), iter(texts)

    def client():
        c = http.client.HTTPConnection("127.0.0.1", port)
        while True:
            with lock:
                t = next(it, None)
            if t is None:
                return
            t0 = time.perf_counter()
            c.request("POST", "/embed", json.dumps({"inputs": t}), {"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            assert r.status == 200, r.status
            with lock:
                lat.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return len(lat) / wall, 1e3 * lat[len(lat) // 2], 1e3 * lat[int(len(lat) * 0.99)]


def workload(n, seed):
    rng = random.Random(seed)
    words = "the a cat dog runs sits market fell rose today model text search query answer long short".split()
    sentence = lambda: " ".join(rng.choice(words) for _ in range(rng.randint(8, 40)))
    repeated = [sentence() for _ in range(100)]
    return [rng.choice(repeated) if i % 2 else sentence() + " %d" % i for i in range(n)]


def main():
    binary, model = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    clients = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    servers = {"no cache": start(binary, model, []), "--cache-mb 64": start(binary, model, ["--cache-mb", "64"])}
    time.sleep(0.5)
    results = {k: [] for k in servers}
    for rnd in range(2):  # in turns, so that both see the same machine
        for name, (_, port) in servers.items():
            results[name].append(run(port, workload(n, rnd), clients))
    for name, (p, port) in servers.items():
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.request("GET", "/metrics")
        hits = re.search(r"^tinyembed_cache_hits_total (\d+)", c.getresponse().read().decode(), re.M)
        for rnd, (rps, p50, p99) in enumerate(results[name]):
            print("%-14s round %d: %7.1f requests/s, p50 %6.2f ms, p99 %6.2f ms%s" % (
                name, rnd + 1, rps, p50, p99, ", cache hits %s in all" % hits.group(1) if hits and rnd else ""))
        p.terminate()
        p.wait()


if __name__ == "__main__":
    main()
