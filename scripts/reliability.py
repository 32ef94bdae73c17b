#!/usr/bin/env python3
"""reliability.py - the figures of docs/reliability.md's "Attacks" section (issue 22).

Starts a private PostgreSQL cluster (scripts/devdb) and one revopsd, loads the CRM sample, then runs
each attack while timing cheap requests from another address:

  slow headers      2,000 connections from 10 loopback addresses that send part of a header block
  unauthenticated   30 uploads to POST /v1/imports announcing 60 MB each, no key
  backtests         8 concurrent 24-month backtests with one read key (and 8 more with another)
  hung database     SIGSTOP of every process of the cluster for 6 s, writes in flight
  territory plans   6 inline territory plans of 200,000 accounts each (a 14 MB body), one after another

and prints, per attack, /healthz p50/p99/max, the answers the attackers got, peak and after-attack RSS
of revopsd, and for the hung database the time to the first 503 of /readyz and of an authenticated GET.
Nothing here asserts: the API suites do (tests/api/test_faults.c, test_robustness.c); this measures.

Usage: scripts/reliability.py [--revopsd build/revopsd] [--seconds 6]
"""
import argparse
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def request(base, method, path, key=None, body=None, ctype="application/json", timeout=30):
    """(status, seconds, headers); status 0 on a transport error."""
    req = urllib.request.Request(base + path, method=method, data=body)
    if key:
        req.add_header("Authorization", "Bearer " + key)
    if body is not None:
        req.add_header("Content-Type", ctype)
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            return r.status, time.monotonic() - t0, dict(r.headers)
    except urllib.error.HTTPError as e:
        e.read()
        return e.code, time.monotonic() - t0, dict(e.headers)
    except Exception as e:
        return 0, time.monotonic() - t0, {"error": type(e).__name__}


def readable(s, timeout_s):
    """select() cannot take descriptors above 1023; poll can."""
    p = select.poll()
    p.register(s, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(p.poll(int(timeout_s * 1000)))


def rss_kb(pid):
    cur = peak = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    return cur, peak


class Sampler:
    """Cheap requests in a loop while an attack runs; RSS sampled alongside."""

    def __init__(self, base, pid, path="/healthz", key=None, every=0.02):
        self.base, self.pid, self.path, self.key, self.every = base, pid, path, key, every
        self.lat, self.bad, self.rss_max = [], 0, 0
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop:
            st, dt, _ = request(self.base, "GET", self.path, self.key, timeout=15)
            self.lat.append(dt)
            self.bad += st != 200
            self.rss_max = max(self.rss_max, rss_kb(self.pid)[0])
            time.sleep(self.every)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop = True
        self.t.join()

    def summary(self):
        v = sorted(self.lat) or [0.0]
        pct = lambda q: v[min(len(v) - 1, int(q * len(v)))] * 1000
        return {"n": len(v), "p50_ms": round(pct(0.5), 1), "p99_ms": round(pct(0.99), 1),
                "max_ms": round(v[-1] * 1000, 1), "not_200": self.bad}


def cluster_pids(real):
    with open(os.path.join(real, "data", "postmaster.pid")) as f:
        pm = int(f.readline())
    pids = [pm]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
                if int(st[st.rindex(")") + 2:].split()[1]) == pm:
                    pids.append(int(d))
            except (OSError, ValueError):
                pass
    return pids


def attack_slow_headers(base, port, pid, seconds):
    socks = []
    for i in range(2000):
        s = socket.socket()
        s.setblocking(False)
        s.bind((f"127.0.0.{2 + i % 10}", 0))
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(s)
    time.sleep(0.3)
    for s in socks:
        try:
            s.send(b"GET /v1/deals HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        except OSError:
            pass
    with Sampler(base, pid) as smp:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for s in socks:  # a byte now and then: the idle timeout alone would not cut them
                try:
                    s.send(b"a")
                except OSError:
                    pass
            time.sleep(1)
    closed = 0
    for s in socks:
        if readable(s, 0):
            try:
                closed += s.recv(64) == b""
            except OSError:
                closed += 1
        s.close()
    return smp, {"connections": len(socks), "closed_by_server": closed}


def attack_unauth_uploads(base, port, pid, seconds):
    answers = {}
    lock = threading.Lock()

    def one():
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /v1/imports?object=deals HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                  b"Content-Length: 60000000\r\n\r\n")
        s.setblocking(False)
        chunk = b"x" * 65536
        end = time.monotonic() + seconds
        got = b""
        while time.monotonic() < end and not got:
            try:
                s.send(chunk)
            except (BlockingIOError, OSError):
                pass
            if readable(s, 0.05):
                try:
                    got = s.recv(64)
                except OSError:
                    got = b"reset"
        with lock:
            k = got[:12].decode(errors="replace") or "no answer"
            answers[k] = answers.get(k, 0) + 1
        s.close()

    with Sampler(base, pid) as smp:
        th = [threading.Thread(target=one) for _ in range(30)]
        for t in th:
            t.start()
        for t in th:
            t.join()
    return smp, {"uploads": 30, "answers": answers}


def attack_backtests(base, pid, keys, read_key, seconds):
    months = [f"{y}-{m:02d}" for y in (2016, 2017) for m in range(1, 13)]
    body = json.dumps({"periods": months, "granularity": "month", "method": "all"}).encode()
    counts = {}
    lock = threading.Lock()
    stop = [False]

    def loop(key):
        while not stop[0]:
            st, _, h = request(base, "POST", "/v1/forecasts/backtest", key, body, timeout=120)
            with lock:
                k = st or h.get("error", "error")
                counts[k] = counts.get(k, 0) + 1
            if st in (429, 503):
                time.sleep(0.2)

    th = [threading.Thread(target=loop, args=(keys[i % len(keys)],)) for i in range(16)]
    with Sampler(base, pid) as smp, Sampler(base, pid, "/v1/deals?limit=5", read_key, 0.05) as reads:
        for t in th:
            t.start()
        time.sleep(seconds)
        stop[0] = True
        for t in th:
            t.join()
    return smp, {"backtests": {str(k): v for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))}, "authenticated_get": reads.summary()}


def attack_territory_plans(base, pid, wkey, seconds):
    """Six inline 200k-account territory plans, one after another (the issue's 2.0 GB kept)."""
    accounts = [{"id": f"acct-{i:06d}", "potential": 1000 + (i * 7919) % 90000,
                 "segment": ("smb", "mid", "ent")[i % 3], "region": ("amer", "emea", "apac", "latam")[i % 4]}
                for i in range(200000)]
    body = json.dumps({"name": "inline 200k", "territories": 40, "accounts": accounts}).encode()
    counts, took, after_each = {}, [], []
    with Sampler(base, pid) as smp:
        for _ in range(6):
            st, dt, _ = request(base, "POST", "/v1/territory-plans", wkey, body, timeout=600)
            counts[st] = counts.get(st, 0) + 1
            took.append(round(dt, 2))
            after_each.append(round(rss_kb(pid)[0] / 1024, 1))
    return smp, {"plans": {str(k): v for k, v in counts.items()}, "body_mb": round(len(body) / 1e6, 1),
                 "seconds_each": took, "rss_after_each_mb": after_each}


def attack_hung_db(base, pid, real, key, seconds):
    stop = [False]
    acked, unavailable = [0], [0]

    def writer(t):
        i = 0
        while not stop[0]:
            b = json.dumps({"name": f"h{t}-{i}", "stage": "opportunity", "amount": 100 + i}).encode()
            st, _, _ = request(base, "PUT", f"/v1/deals/hung-{t}-{i}", key, b, timeout=30)
            acked[0] += 200 <= st < 300
            unavailable[0] += st == 503
            i += 1

    th = [threading.Thread(target=writer, args=(t,)) for t in range(3)]
    for t in th:
        t.start()
    time.sleep(0.5)
    pids = cluster_pids(real)
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    try:
        time.sleep(0.2)
        st_r, t_ready, h_r = request(base, "GET", "/readyz")
        st_g, t_get, h_g = request(base, "GET", "/v1/workspace", key)
        with Sampler(base, pid) as smp:
            time.sleep(seconds)
    finally:
        for p in pids:
            os.kill(p, signal.SIGCONT)
    t0 = time.monotonic()
    while request(base, "GET", "/readyz")[0] != 200 and time.monotonic() - t0 < 30:
        time.sleep(0.05)
    recovered = time.monotonic() - t0
    stop[0] = True
    for t in th:
        t.join()
    return smp, {"readyz": [st_r, round(t_ready, 2), h_r.get("Retry-After")],
                 "get_workspace": [st_g, round(t_get, 2), h_g.get("Retry-After")],
                 "ready_again_s": round(recovered, 2), "writes_acked": acked[0], "writes_503": unavailable[0]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--revopsd", default=os.path.join(ROOT, "build", "revopsd"))
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--db-deadline-ms", type=int, default=2000)
    ap.add_argument("--only", default="", help="comma list of attacks to run (default all)")
    ap.add_argument("--keep", action="store_true", help="keep the cluster directory and the server log")
    ap.add_argument("--serve-arg", action="append", default=[], help="an extra revopsd serve option (repeatable)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="revops-rel-", dir="/tmp")
    os.chmod(tmp, 0o755)
    pgdir = os.path.join(tmp, "pg")
    env = dict(os.environ, DEVDB_FAST="1")
    url = run([os.path.join(ROOT, "scripts", "devdb"), "start", pgdir], env=env).strip().splitlines()[-1]
    loc = os.path.join(pgdir, "LOCATION")
    real = open(loc).read().strip() if os.path.exists(loc) else pgdir
    srv = None
    try:
        run([a.revopsd, "migrate", "--database-url", url])
        run([a.revopsd, "demo", "load", "--database-url", url], cwd=ROOT)
        keys = [run([a.revopsd, "keys", "create", "--workspace", "demo", "--role", "read", "--database-url", url])
                .strip().splitlines()[-1] for _ in range(2)]
        wkey = run([a.revopsd, "keys", "create", "--workspace", "demo", "--role", "write", "--database-url", url]
                   ).strip().splitlines()[-1]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(os.path.join(tmp, "revopsd.log"), "w")
        srv = subprocess.Popen([a.revopsd, "serve", "--database-url", url, "--listen", f"127.0.0.1:{port}",
                                "--access-log", "0", "--db-deadline-ms", str(a.db_deadline_ms)] + a.serve_arg,
                               stdout=log, stderr=log)
        for _ in range(100):
            if request(base, "GET", "/healthz")[0] == 200:
                break
            time.sleep(0.1)
        out = {"config": {"threads": 4, "db_deadline_ms": a.db_deadline_ms, "ready_deadline_ms": 1000,
                          "header_timeout_s": 10, "max_connections_per_ip": 64, "costly_concurrency": 2,
                          "costly_per_key": 1}}
        with Sampler(base, srv.pid) as smp:
            time.sleep(2)
        out["idle"] = {"healthz": smp.summary(), "rss_mb": round(rss_kb(srv.pid)[0] / 1024, 1)}
        for name, fn in (("slow_headers", lambda: attack_slow_headers(base, port, srv.pid, a.seconds)),
                         ("unauthenticated_uploads", lambda: attack_unauth_uploads(base, port, srv.pid, a.seconds)),
                         ("backtests", lambda: attack_backtests(base, srv.pid, keys, keys[0], a.seconds)),
                         ("hung_database", lambda: attack_hung_db(base, srv.pid, real, wkey, a.seconds)),
                         ("territory_plans", lambda: attack_territory_plans(base, srv.pid, wkey, a.seconds))):
            if a.only and name not in a.only.split(","):
                continue
            smp, extra = fn()
            time.sleep(2)
            cur, peak = rss_kb(srv.pid)
            out[name] = dict(healthz=smp.summary(), rss_peak_during_mb=round(smp.rss_max / 1024, 1),
                             rss_after_mb=round(cur / 1024, 1), rss_hwm_mb=round(peak / 1024, 1), **extra)
        print(json.dumps(out, indent=1))
    finally:
        if srv:
            srv.send_signal(signal.SIGTERM)
            try:
                srv.wait(30)
            except subprocess.TimeoutExpired:
                print("revopsd did not stop within 30 s of SIGTERM", file=sys.stderr)
                srv.kill()
        subprocess.run([os.path.join(ROOT, "scripts", "devdb"), "stop", pgdir], capture_output=True)
        if a.keep:
            print("kept " + tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
