#!/usr/bin/env python3
"""Figures of the epoll benchmarks (bench/epoll_bench.py): ratios, the
markdown section of docs/performance.md, and the explicit copy step.

  epoll_report.py --publish build/bench-epoll/epoll.json ROOT
      copies the run into ROOT/bench/results/latest.json under "epoll" and
      rewrites the epoll section of ROOT/docs/performance.md (between the
      markers below). bench/report.py keeps both when it regenerates.
  epoll_report.py --merge OUT.json RUN.json RUN2.json...
      one run from several (e.g. --systems nginx,node measured separately):
      the figures of the later runs added to the first's (a later run's
      figure replaces the same figure of an earlier one; idle counts are
      merged count by count, so an --idle-only 100,000 run keeps the first
      run's rates and 10,000 figures), ratios again.
"""
import json
import os
import platform
import sys
import time

BEGIN = "<!-- epoll:begin (bench/epoll_report.py) -->"
END = "<!-- epoll:end -->"
LABEL = {"sanstls": "sanstls (epoll)", "nginx": "nginx", "node": "Node"}


def nginx_config(workers, prefix, cert, key, http_port, stream_port, backend_port, run_as_root, modules):
    user = "user root;\n" if run_as_root else ""
    return """# Written by bench/epoll_bench.py: nginx as a TLS server on loopback.
{user}worker_processes {workers};
worker_rlimit_nofile 20000;
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
load_module {modules}/ngx_stream_module.so;
events {{ worker_connections 19000; multi_accept on; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/client_body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  # Handshakes and idle connections: TLS, then waiting for a request.
  server {{
    listen 127.0.0.1:{http_port} ssl reuseport;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    client_header_timeout 3600s;
    keepalive_timeout 3600s;
    location / {{ return 200 "ok\\n"; }}
  }}
}}
stream {{
  # Echo: TLS terminated here, bytes proxied to a plain TCP echo.
  server {{
    listen 127.0.0.1:{stream_port} ssl reuseport;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    proxy_pass 127.0.0.1:{backend_port};
  }}
}}
""".format(**locals())


def meta(args, nofile_hard, per_process):
    cpu = "?"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": "smoke" if args.smoke else "full",
        "machine": platform.machine(), "cpus": os.cpu_count(), "cpu": cpu,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average_at_start": round(load, 2) if load is not None else None,
        "nofile_hard_limit": nofile_hard,
        "idle_connections_per_process": per_process,
        "workers": args.workers,
        "idle_only": bool(getattr(args, "idle_only", False)),
        "seconds_per_figure": args.seconds,
        "handshake_concurrency": args.concurrency,
        "echo_connections": args.echo_concurrency,
        "echo_size": args.size,
        "client": "bench/loadgen.cpp on the sanstls core, one process (idle: one per server share, each "
                  "from its own source address): TLS 1.3, TLS_AES_128_GCM_SHA256, X25519, no certificate "
                  "verification; the same for every server",
        "servers": "sanstls: bench/epoll_server.cpp (sanstls::epoll::Loop, echo); nginx: Debian's nginx, http "
                   "server (handshakes, idle) and stream proxy to a plain TCP echo (echo); Node: "
                   "bench/node_echo_server.js (tls.createServer, socket.pipe(socket)); ECDSA P-256 certificate",
    }


def _get(results, system, *path):
    v = results["systems"].get(system, {})
    for p in path:
        if not isinstance(v, dict):
            return None
        v = v.get(p)
    return v


def _ratio(a, b):
    return round(a / b, 3) if a and b else None


def add_ratios(results):
    """sanstls / nginx and sanstls / Node for every figure (above 1: sanstls
    does more per second; for memory, above 1: sanstls uses more)."""
    figures = {
        "handshakes_per_s": ("handshake", "per_s"),
        "handshakes_per_server_cpu_s": ("handshake", "per_cpu_s"),
        "echo_mb_per_s": ("echo", "mb_per_s"),
        "echo_mb_per_server_cpu_s": ("echo", "mb_per_cpu_s"),
    }
    counts = set()
    for s in results["systems"].values():
        counts.update(s.get("idle", {}).keys())
    for c in counts:
        figures["idle_bytes_per_connection_%s" % c] = ("idle", c, "bytes_per_connection")
        figures["idle_rss_after_%s" % c] = ("idle", c, "rss_after")
    ratios = {}
    for name, path in figures.items():
        ours = _get(results, "sanstls", *path)
        ratios[name] = {"sanstls": ours,
                        "vs_nginx": _ratio(ours, _get(results, "nginx", *path)),
                        "vs_node": _ratio(ours, _get(results, "node", *path))}
    results["ratios"] = ratios
    return results


def problems(results):
    out = []
    idle_only = results.get("meta", {}).get("idle_only")
    for system, s in results["systems"].items():
        for kind in () if idle_only else ("handshake", "echo"):
            f = s.get(kind, {})
            if not f or (f.get("per_s") or f.get("mb_per_s") or 0) <= 0:
                out.append("%s: no %s figure" % (system, kind))
        if s.get("echo", {}).get("mismatches"):
            out.append("%s: echoed bytes differ" % system)
        for count, idle in s.get("idle", {}).items():
            if idle.get("established") != idle.get("connections"):
                out.append("%s: %s of %s idle connections established" % (system, idle.get("established"), count))
    return out


def _fmt(v, digits=3):
    if v is None:
        return "–"
    if isinstance(v, float) and abs(v) < 100:
        return "%.*g" % (digits, v)
    return "{:,}".format(int(round(v)))


def markdown(results):
    m, sysnames = results["meta"], [s for s in ("sanstls", "nginx", "node") if s in results["systems"]]
    L = [BEGIN, "## epoll server against nginx and Node (issue 11)", ""]
    L.append("Generated by `scripts/bench-epoll.sh` on %s (%s, %s CPUs, %s GiB; %s run; load average %s at "
             "the start: other work shares this machine). Copied here by `scripts/bench-epoll.sh --publish`; "
             "the raw run stays in `build/bench-epoll/`." % (
                 m["generated"], m["cpu"], m["cpus"], m["memory_gib"], m["mode"], m["load_average_at_start"]))
    L.append("")
    L.append("**How it is measured.** %s. Client: %s. Each server gets %d worker (thread or process) for "
             "the rates; handshakes: %d clients at once connect, complete a full handshake and close, for %g s; "
             "echo: %d connections each send %d bytes, read them back (checked) and repeat, for %g s. Besides the "
             "wall-clock rate, each rate is divided by the CPU time (user + system, from `/proc`) the server's "
             "processes used meanwhile: on this shared 2-core machine a client handshake costs about as much CPU "
             "as a server's and other work competes for the cores, so the per-CPU-second figure is the "
             "server's capacity, and the ratios to read first." % (
                 m["servers"], m["client"], m["workers"], m["handshake_concurrency"], m["seconds_per_figure"],
                 m["echo_connections"], m["echo_size"], m["seconds_per_figure"]))
    L.append("")
    L.append("| figure | " + " | ".join(LABEL[s] for s in sysnames) + " | sanstls / nginx | sanstls / Node |")
    L.append("|---|" + "---:|" * (len(sysnames) + 2))
    rows = [("full handshakes / s (wall clock)", "handshakes_per_s", ("handshake", "per_s")),
            ("full handshakes / server CPU second", "handshakes_per_server_cpu_s", ("handshake", "per_cpu_s")),
            ("echo MB/s (wall clock)", "echo_mb_per_s", ("echo", "mb_per_s")),
            ("echo MB / server CPU second", "echo_mb_per_server_cpu_s", ("echo", "mb_per_cpu_s"))]
    counts = sorted({int(c) for s in results["systems"].values() for c in s.get("idle", {})})
    for c in counts:
        rows.append(("bytes of RSS per idle TLS connection, %s connections" % "{:,}".format(c),
                     "idle_bytes_per_connection_%d" % c, ("idle", str(c), "bytes_per_connection")))
    if counts:
        c = counts[-1]
        rows.append(("total server RSS with %s idle connections (MB)" % "{:,}".format(c),
                     "idle_rss_after_%d" % c, ("idle", str(c), "rss_after")))
    for title, key, path in rows:
        cells = []
        for s in sysnames:
            v = _get(results, s, *path)
            if v is not None and path[-1] == "rss_after":
                v = v / 1e6
            cells.append(_fmt(v))
        r = results.get("ratios", {}).get(key, {})
        L.append("| %s | %s | %s | %s |" % (title, " | ".join(cells), _fmt(r.get("vs_nginx")), _fmt(r.get("vs_node"))))
    L.append("")
    L.append("Ratios: sanstls's figure divided by the other's; above 1 means more handshakes or bytes per "
             "second, or more memory; – where a figure was not measured in this run.")
    L.append("")
    if m.get("note"):
        L.append("Note: %s." % m["note"])
        L.append("")
    if counts:
        L.append("**Idle connections.** RSS growth of the server's processes (sum of `VmRSS`, after minus "
                 "before) divided by the connections, each complete once the server has answered (TLS 1.3: "
                 "its first NewSessionTicket, sent after it processed the client's Finished); the clients then "
                 "keep only their sockets. The container's hard `nofile` limit is %s, so each process holds at "
                 "most %s connections: larger counts are spread over several sanstls server processes (one "
                 "port each), nginx worker processes (`reuseport`) or a Node cluster, and as many load "
                 "generator processes, each from its own source address (127.0.0.2, .3, ...). Kernel socket "
                 "memory is not in RSS." % ("{:,}".format(m["nofile_hard_limit"]),
                                              "{:,}".format(m["idle_connections_per_process"])))
        L.append("")
        L.append("| system | connections | server processes | RSS before (MB) | RSS after (MB) | bytes per connection | seconds to establish |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        for s in sysnames:
            for c in counts:
                i = _get(results, s, "idle", str(c))
                if not i:
                    continue  # not measured in this run
                L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                    LABEL[s], _fmt(i.get("established")), _fmt(i.get("server_processes")),
                    _fmt((i.get("rss_before") or 0) / 1e6), _fmt((i.get("rss_after") or 0) / 1e6),
                    _fmt(i.get("bytes_per_connection")), _fmt(i.get("seconds_to_establish"))))
        L.append("")
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "epoll-notes.md")
    if os.path.exists(notes):
        L.append(open(notes).read().rstrip())
        L.append("")
    L.append(END)
    return "\n".join(L) + "\n"


def splice(doc, section):
    """doc with its epoll section replaced by `section` (appended if absent)."""
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        return head + section.rstrip("\n") + tail
    if "\n## Analysis" in doc:  # where bench/report.py puts it: before the analysis
        head, tail = doc.split("\n## Analysis", 1)
        return head.rstrip("\n") + "\n\n" + section + "\n## Analysis" + tail
    return doc.rstrip("\n") + "\n\n" + section


def publish(run_json, root):
    run = json.load(open(run_json))
    latest_path = os.path.join(root, "bench", "results", "latest.json")
    latest = json.load(open(latest_path)) if os.path.exists(latest_path) else {}
    latest["epoll"] = run
    with open(latest_path, "w") as f:
        json.dump(latest, f, indent=1, sort_keys=False)
        f.write("\n")
    doc_path = os.path.join(root, "docs", "performance.md")
    doc = open(doc_path).read() if os.path.exists(doc_path) else "# Performance\n"
    with open(doc_path, "w") as f:
        f.write(splice(doc, markdown(run)))
    print("bench-epoll: copied %s into bench/results/latest.json (\"epoll\") and docs/performance.md" % run_json)


def merge(out_path, paths):
    runs = [json.load(open(p)) for p in paths]
    merged = runs[0]
    for run in runs[1:]:
        for system, figures in run["systems"].items():
            into = merged["systems"].setdefault(system, {})
            for key, value in figures.items():
                if key == "idle":
                    into.setdefault("idle", {}).update(value)
                else:
                    into[key] = value
        merged["meta"].setdefault("merged_from", []).append(run["meta"].get("generated"))
    add_ratios(merged)
    with open(out_path, "w") as f:
        json.dump(merged, f, indent=1)
        f.write("\n")
    with open(os.path.splitext(out_path)[0] + ".md", "w") as f:
        f.write(markdown(merged))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--publish":
        publish(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "--merge":
        merge(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)
