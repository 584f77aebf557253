#!/usr/bin/env python3
"""The epoll benchmarks (issue 11), driven by scripts/bench-epoll.sh.

sanstls (bench/epoll_server.cpp on sanstls::epoll::Loop), nginx (stream and
http modules with ssl, Debian's build) and Node (tls echo) on loopback, with
the same ECDSA P-256 certificate, the same client (bench/loadgen.cpp on the
sanstls core: TLS 1.3, X25519, AES-128-GCM, no certificate verification) and
the same number of server processes/threads. Figures:

  handshakes   full handshakes per second (wall clock) and per server CPU
               second (utime+stime of the server's processes, from /proc)
  echo         MB/s of echoed bytes, wall clock and per server CPU second
  idle         RSS growth per idle TLS connection (sum of VmRSS over the
               server's processes, after minus before) at each count, and the
               total RSS at the largest count

The container's hard nofile limit (often 20,000) bounds one process, so
large idle counts are spread over several server processes (sanstls: one
server process per share, each on its own port; nginx: worker processes with
reuseport; Node: a cluster) and as many load generator processes, each from
its own source address (127.0.0.2...).

usage: epoll_bench.py --bin BUILD/bin --out DIR [--smoke] [--idle 10000,100000]
       [--workers 1] [--systems sanstls,nginx,node] [--seconds 5] [--idle-only]
       [--per-process 16000] [--idle-timeout-s 900]
--idle-only skips the rates (e.g. a 100,000 run merged into an earlier one
with epoll_report.py --merge); --per-process lowers the share per process
(a small count then still takes the several-process path).
Writes DIR/epoll.json and DIR/epoll.md; nothing in the work tree.
"""
import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, HERE)
import epoll_report  # noqa: E402

PER_PROCESS = 16000  # idle connections per server / load generator process


def log(msg):
    print("== bench-epoll: " + msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, task)) as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def rss_bytes(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def cpu_seconds(pids):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def wait_port_line(proc, what, timeout=30):
    """Reads the child's stdout until "port N"."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise RuntimeError("%s exited (%s) before listening" % (what, proc.returncode))
            continue
        if line.startswith("port "):
            return int(line.split()[1])
    raise RuntimeError("%s did not listen within %ds" % (what, timeout))


def wait_listening(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %d" % port)


class Server:
    """One system's server(s): start(), ports, pids(), stop()."""

    def __init__(self, system, args, pki, processes):
        self.system, self.args, self.pki = system, args, pki
        self.processes = processes
        self.procs, self.extra = [], []
        self.ports = []        # where clients go: one per process (sanstls) or one shared
        self.hs_port = None    # handshakes / idle (nginx: its http server)
        self.echo_port = None  # echo (nginx: its stream proxy)

    def start(self):
        a, cert, key = self.args, self.pki["cert"], self.pki["key"]
        if self.system == "sanstls":
            for _ in range(self.processes):
                p = subprocess.Popen([os.path.join(a.bin, "sanstls_bench_epoll_server"), "--cert", cert,
                                      "--key", key, "--workers", str(a.workers)],
                                     stdout=subprocess.PIPE, text=True)
                self.procs.append(p)
                self.ports.append(wait_port_line(p, "sanstls_bench_epoll_server"))
            self.hs_port = self.echo_port = self.ports[0]
        elif self.system == "node":
            port = free_port()
            p = subprocess.Popen(["node", os.path.join(HERE, "node_echo_server.js"), "--cert", cert, "--key", key,
                                  "--port", str(port), "--workers", str(a.workers * self.processes)],
                                 stdout=subprocess.PIPE, text=True)
            self.procs.append(p)
            wait_port_line(p, "node")
            self.ports = [port]
            self.hs_port = self.echo_port = port
        elif self.system == "nginx":
            backend = subprocess.Popen([os.path.join(a.bin, "sanstls_bench_epoll_server"), "--plain"],
                                       stdout=subprocess.PIPE, text=True)
            self.extra.append(backend)
            backend_port = wait_port_line(backend, "plain echo backend")
            http_port, stream_port = free_port(), free_port()
            prefix = os.path.join(a.out, "nginx")
            os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
            conf = os.path.join(prefix, "nginx.conf")
            with open(conf, "w") as f:
                f.write(epoll_report.nginx_config(
                    workers=a.workers * self.processes, prefix=prefix, cert=cert, key=key,
                    http_port=http_port, stream_port=stream_port, backend_port=backend_port,
                    run_as_root=os.geteuid() == 0, modules=a.nginx_modules))
            p = subprocess.Popen([a.nginx, "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "logs", "error.log")],
                                 stdout=subprocess.DEVNULL)
            self.procs.append(p)
            wait_listening(http_port)
            wait_listening(stream_port)
            # Workers are forked after the master listens: wait for all.
            deadline = time.time() + 20
            while len(descendants(p.pid)) < 1 + a.workers * self.processes and time.time() < deadline:
                time.sleep(0.05)
            self.ports = [http_port]
            self.hs_port, self.echo_port = http_port, stream_port
        time.sleep(0.3)  # settle (lazy initialisation after listening)

    def pids(self):
        out = []
        for p in self.procs:
            out.extend(descendants(p.pid))
        return out

    def stop(self):
        for p in self.procs + self.extra:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs + self.extra:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs, self.extra = [], []


def loadgen(args, *extra):
    return [os.path.join(args.bin, "sanstls_bench_loadgen")] + [str(x) for x in extra]


def run_loadgen(args, cmd, timeout):
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = [l for l in done.stdout.splitlines() if l.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError("loadgen failed (%d): %s %s" % (done.returncode, done.stdout[-500:], done.stderr[-500:]))
    return json.loads(lines[-1])


def measure_throughput(args, system):
    server = Server(system, args, args.pki, 1)
    server.start()
    try:
        out = {}
        pids = server.pids()
        cpu0 = cpu_seconds(pids)
        hs = run_loadgen(args, loadgen(args, "--port", server.hs_port, "--mode", "handshake",
                                       "--concurrency", args.concurrency, "--duration-ms", int(args.seconds * 1000),
                                       "--timeout-ms", int(args.seconds * 1000) + 30000), args.seconds + 60)
        cpu = cpu_seconds(server.pids()) - cpu0
        out["handshake"] = {"handshakes": hs["handshakes"], "seconds": hs["seconds"],
                            "per_s": hs["handshakes_per_s"], "server_cpu_s": round(cpu, 3),
                            "per_cpu_s": round(hs["handshakes"] / cpu, 1) if cpu > 0 else None,
                            "failures": hs["failures"], "failure_names": hs["failure_names"]}
        log("%s: %.1f handshakes/s, %s per server CPU second" % (system, hs["handshakes_per_s"], out["handshake"]["per_cpu_s"]))
        extra_pids = [p.pid for p in server.extra]
        cpu0, ecpu0 = cpu_seconds(server.pids()), cpu_seconds(extra_pids)
        echo = run_loadgen(args, loadgen(args, "--port", server.echo_port, "--mode", "echo",
                                         "--concurrency", args.echo_concurrency, "--size", args.size,
                                         "--duration-ms", int(args.seconds * 1000),
                                         "--timeout-ms", int(args.seconds * 1000) + 30000), args.seconds + 60)
        cpu = cpu_seconds(server.pids()) - cpu0
        ecpu = cpu_seconds(extra_pids) - ecpu0
        mb = echo["echoed_bytes"] / 1e6
        out["echo"] = {"mb": round(mb, 3), "seconds": echo["seconds"], "mb_per_s": echo["mb_per_s"],
                       "server_cpu_s": round(cpu, 3), "mb_per_cpu_s": round(mb / cpu, 2) if cpu > 0 else None,
                       "failures": echo["failures"], "mismatches": echo["mismatches"],
                       "connections": args.echo_concurrency, "size": args.size}
        if extra_pids:
            out["echo"]["backend_cpu_s"] = round(ecpu, 3)
        log("%s: echo %.2f MB/s, %s MB per server CPU second" % (system, echo["mb_per_s"], out["echo"]["mb_per_cpu_s"]))
        return out
    finally:
        server.stop()


def measure_idle(args, system, count):
    processes = max(1, -(-count // args.per_process))
    server = Server(system, args, args.pki, processes)
    server.start()
    gens = []
    try:
        pids = server.pids()
        before = rss_bytes(pids)
        share = -(-count // processes)
        left = count
        for i in range(processes):
            n = min(share, left)
            left -= n
            port = server.ports[i % len(server.ports)]
            cmd = loadgen(args, "--port", port, "--mode", "idle", "--connections", n,
                          "--concurrency", 64, "--source", "127.0.0.%d" % (2 + i % 250),
                          "--timeout-ms", args.idle_timeout_s * 1000, "--hold-ms", args.idle_timeout_s * 1000)
            gens.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        ready = []
        for g in gens:
            line = g.stdout.readline()
            if not line:
                raise RuntimeError("idle loadgen ended early (%s)" % g.wait())
            ready.append(json.loads(line))
        established = sum(r["established"] for r in ready)
        time.sleep(1.0)  # let the servers settle (tickets sent, buffers freed)
        pids = server.pids()
        after = rss_bytes(pids)
        result = {"connections": count, "established": established,
                  "server_processes": len(pids), "loadgen_processes": len(gens),
                  "rss_before": before, "rss_after": after,
                  "bytes_per_connection": round((after - before) / established) if established else None,
                  "failures": sum(r["failures"] for r in ready),
                  "seconds_to_establish": max(r["seconds"] for r in ready)}
        log("%s: %d idle: RSS %.1f -> %.1f MB, %s bytes per connection (%d server processes)" % (
            system, established, before / 1e6, after / 1e6, result["bytes_per_connection"], len(pids)))
        return result
    finally:
        for g in gens:
            try:
                g.stdin.close()
            except OSError:
                pass
        for g in gens:
            try:
                g.wait(timeout=60)
            except subprocess.TimeoutExpired:
                g.kill()
                g.wait()
        server.stop()


def make_pki(out):
    d = os.path.join(out, "pki")
    os.makedirs(d, exist_ok=True)
    key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    if not (os.path.exists(key) and os.path.exists(cert)):
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "req", "-x509", "-new", "-key", key, "-subj", "/CN=localhost", "-days", "30",
                        "-addext", "subjectAltName=DNS:localhost", "-out", cert], check=True, capture_output=True)
        os.chmod(key, 0o644)  # nginx workers may run as another user
    return {"key": key, "cert": cert}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--smoke", action="store_true", help="tiny counts, a few seconds")
    ap.add_argument("--idle", default="10000,100000")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--systems", default="sanstls,nginx,node")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--echo-concurrency", type=int, default=16)
    ap.add_argument("--size", type=int, default=16384)
    ap.add_argument("--idle-timeout-s", type=int, default=900,
                    help="bound on each load generator's build-up; a run cut there reports the count it reached")
    ap.add_argument("--idle-only", action="store_true", help="no handshake or echo rates, idle memory only")
    ap.add_argument("--per-process", type=int, default=PER_PROCESS,
                    help="idle connections per server / load generator process (below the nofile limit)")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--nginx-modules", default="/usr/lib/nginx/modules")
    args = ap.parse_args()
    if args.smoke:
        args.idle, args.seconds, args.concurrency, args.echo_concurrency = "200", 1.0, 4, 4
        args.idle_timeout_s = 60
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    hard = raise_nofile()
    args.pki = make_pki(args.out)
    systems = [s for s in args.systems.split(",") if s]
    for s in systems:
        if s == "nginx" and not os.path.exists(args.nginx):
            sys.exit("bench-epoll: nginx missing (scripts/setup.sh installs it: scripts/setup.d/bench.sh)")
        if s == "node" and not shutil.which("node"):
            sys.exit("bench-epoll: node missing (scripts/setup.sh)")
    idle_counts = [int(x) for x in args.idle.split(",") if x]
    results = {"meta": epoll_report.meta(args, hard, args.per_process), "systems": {}}

    def save():  # after every figure: a run cut short keeps what it measured
        epoll_report.add_ratios(results)
        with open(os.path.join(args.out, "epoll.json"), "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")

    for system in systems:
        results["systems"][system] = {}
        if not args.idle_only:
            log("%s: handshakes and echo (%g s each)" % (system, args.seconds))
            results["systems"][system].update(measure_throughput(args, system))
        results["systems"][system]["idle"] = {}
        save()
        for count in idle_counts:
            log("%s: %d idle connections" % (system, count))
            results["systems"][system]["idle"][str(count)] = measure_idle(args, system, count)
            save()
    save()
    with open(os.path.join(args.out, "epoll.md"), "w") as f:
        f.write(epoll_report.markdown(results))
    log("wrote %s/epoll.json and epoll.md" % args.out)
    problems = epoll_report.problems(results)
    for p in problems:
        print("bench-epoll: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
