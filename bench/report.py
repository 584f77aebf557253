#!/usr/bin/env python3
"""Turns the raw outputs of scripts/bench.sh into bench/results/latest.json,
docs/performance.md and bench/results/chart.png (matplotlib).

usage: report.py RAW_DIR ROOT
RAW_DIR holds gbench.json (Google Benchmark), heap.jsonl, icount.json,
callgrind-*.txt and optionally options.json (kept in bench/results/)."""
import json
import os
import platform
import subprocess
import sys
import time

RAW, ROOT = sys.argv[1], sys.argv[2]
RESULTS = os.path.join(ROOT, "bench", "results")
SYSTEMS = ["sanstls", "mbedtls", "openssl", "floor"]
LABEL = {"sanstls": "sanstls", "mbedtls": "raw mbedTLS", "openssl": "OpenSSL", "floor": "crypto floor"}


def load_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def gbench_figures(data):
    """{(figure, case): {system: (value, unit)}} from a Google Benchmark JSON."""
    out = {}
    for b in (data or {}).get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        if b.get("run_type") == "aggregate":  # --benchmark_repetitions: use the median
            if b.get("aggregate_name") != "median":
                continue
            name = b["run_name"]
        else:
            name = b["name"]
        parts = name.split("/")
        figure, system, case = parts[0], parts[1], "/".join(parts[2:])
        if figure in ("handshake", "resume"):
            value, unit = b["handshakes_per_s"], "handshakes/s"
        elif figure == "bulk":
            value, unit = b["bytes_per_second"] / 1e6, "MB/s"
        elif figure == "latency":
            scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3}[b.get("time_unit", "ns")]
            value, unit = b["cpu_time"] * scale, "us"
        elif figure == "crypto":
            value, unit = b["ops_per_s"], "ops/s"
        else:
            continue
        out.setdefault((figure, case), {})[system] = (value, unit)
    return out


def ratio(a, b):
    return round(a / b, 4) if a and b else None


def main():
    gb = gbench_figures(load_json(os.path.join(RAW, "gbench.json")))
    heap = []
    try:
        with open(os.path.join(RAW, "heap.jsonl")) as f:
            heap = [json.loads(line) for line in f if line.strip()]
    except OSError:
        pass
    icount = load_json(os.path.join(RAW, "icount.json"), {})
    options = load_json(os.path.join(RESULTS, "options.json"))
    mode = open(os.path.join(RAW, "mode")).read().strip() if os.path.exists(os.path.join(RAW, "mode")) else "?"

    figures, ratios = [], []
    for (figure, case), by_system in sorted(gb.items()):
        for system, (value, unit) in by_system.items():
            figures.append({"figure": figure, "case": case, "system": system,
                            "value": round(value, 3), "unit": unit})
        s = by_system.get("sanstls", (None,))[0]
        m = by_system.get("mbedtls", (None,))[0]
        o = by_system.get("openssl", (None,))[0]
        fl = by_system.get("floor", (None,))[0]
        if figure == "crypto":
            continue
        if figure == "latency":  # times: lower is better; ratios of times
            ratios.append({"figure": figure, "case": case, "kind": "time",
                           "sanstls_over_mbedtls": ratio(s, m), "sanstls_over_openssl": ratio(s, o),
                           "floor_over_sanstls": ratio(fl, s)})
        else:  # rates: higher is better; ratios of rates
            ratios.append({"figure": figure, "case": case, "kind": "rate",
                           "sanstls_over_mbedtls": ratio(s, m), "sanstls_over_openssl": ratio(s, o),
                           "floor_over_sanstls": ratio(fl, s)})
    for h in heap:
        case = "tls%d/%s" % (h["version"], h["side"])
        for key in ("idle", "peak"):
            entry = {"figure": "heap_" + key, "case": case, "system": h["system"],
                     "value": h[key], "unit": "bytes"}
            if "engine_" + key in h:
                entry["engine_accounting"] = h["engine_" + key]
            figures.append(entry)
    for key in ("idle", "peak"):
        for v in (13, 12):
            for side in ("client", "server"):
                vals = {h["system"]: h[key] for h in heap if h["version"] == v and h["side"] == side}
                if vals:
                    ratios.append({"figure": "heap_" + key, "case": "tls%d/%s" % (v, side), "kind": "bytes",
                                   "sanstls_over_mbedtls": ratio(vals.get("sanstls"), vals.get("mbedtls")),
                                   "sanstls_over_openssl": ratio(vals.get("sanstls"), vals.get("openssl")),
                                   "floor_over_sanstls": None})

    ic = icount.get("counts", {})
    def per(system, what):
        c = ic.get(system, {}).get(what)
        n = icount.get("n_" + ("bulk" if what == "bulk" else "handshakes"))
        return c / n if c and n else None
    overhead = {
        "instructions_per_handshake": {s: per(s, "handshake") for s in ("sanstls", "mbedtls", "openssl", "floor")},
        "instructions_per_handshake_tls12": {s: per(s, "handshake12") for s in ("sanstls", "mbedtls")},
        "instructions_per_byte": {s: per(s, "bulk") for s in ("sanstls", "mbedtls", "openssl", "floor")},
        "instructions_per_handshake_ratio": ratio(per("sanstls", "handshake"), per("mbedtls", "handshake")),
        "instructions_per_handshake_ratio_tls12": ratio(per("sanstls", "handshake12"), per("mbedtls", "handshake12")),
        "instructions_per_byte_ratio": ratio(per("sanstls", "bulk"), per("mbedtls", "bulk")),
        "target": 1.05,
        "setup": icount.get("setup", ""),
    }
    for k in ("instructions_per_handshake", "instructions_per_handshake_tls12", "instructions_per_byte"):
        overhead[k] = {s: (round(v, 2) if v else None) for s, v in overhead[k].items()}

    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except Exception:
            return "?"
    meta = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": mode,
        "machine": platform.machine(), "cpus": os.cpu_count(),
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
        "openssl": version(["openssl", "version"]),
        "mbedtls": icount.get("mbedtls_version", "3.6"),
        "timing": "CPU time of one thread (Google Benchmark), client and server in one process",
    }
    latest = {"meta": meta, "overhead": overhead, "figures": figures, "ratios": ratios}
    # The epoll run (scripts/bench-epoll.sh --publish) is kept from the last latest.json.
    previous = load_json(os.path.join(RESULTS, "latest.json"), {}) or {}
    if previous.get("epoll"):
        latest["epoll"] = previous["epoll"]
    if options:
        latest["options"] = options
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "latest.json"), "w") as f:
        json.dump(latest, f, indent=1, sort_keys=False)
        f.write("\n")
    chart(gb, heap)
    write_markdown(latest, gb, heap)


def chart(gb, heap):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    colors = {"sanstls": "#1f77b4", "mbedtls": "#ff7f0e", "openssl": "#2ca02c", "floor": "#7f7f7f"}
    panels = [("handshake", "Full handshakes/s (log)", True), ("resume", "Resumed handshakes/s (log)", True),
              ("bulk", "Bulk MB/s (log)", True)]
    fig, axes = plt.subplots(3, 1, figsize=(9, 10))
    for ax, (figure, title, log) in zip(axes, panels):
        cases = sorted(c for (f, c) in gb if f == figure)
        width = 0.2
        for i, s in enumerate(SYSTEMS):
            vals = [gb[(figure, c)].get(s, (0,))[0] for c in cases]
            ax.bar([x + (i - 1.5) * width for x in range(len(cases))], vals, width, label=LABEL[s], color=colors[s])
        ax.set_xticks(range(len(cases)))
        ax.set_xticklabels(cases, rotation=30, ha="right", fontsize=7)
        ax.set_title(title, fontsize=9)
        if log:
            ax.set_yscale("log")
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(os.path.join(RESULTS, "chart.png"), dpi=70)


def fmt(v, unit=""):
    if v is None:
        return "–"
    if unit == "us":
        return "%.2f" % v
    if v >= 100:
        return "{:,.0f}".format(v)
    return "%.3g" % v


def write_markdown(latest, gb, heap):
    o = latest["overhead"]
    m = latest["meta"]
    L = []
    add = L.append
    add("# Performance")
    add("")
    add("Generated by `scripts/bench.sh%s` on %s (%s, %s CPUs; %s). Do not edit by hand: the tables and "
        "`bench/results/chart.png` are drawn from `bench/results/latest.json` by `bench/report.py`; the "
        "prose in the *Analysis* section lives in `bench/performance-notes.md`."
        % (" --quick" if m["mode"] == "quick" else "", m["generated"], m["cpu"], m["cpus"], m["openssl"]))
    add("")
    add("Four columns for every figure, taken in the same run with the same certificates, cipher suite, "
        "group, signature algorithm and sizes: **sanstls** (the engine, a client/server pair in memory), "
        "**raw mbedTLS** (two `mbedtls_ssl_context`s over memory callbacks, same mbedTLS build and "
        "configuration: the ceiling for our overhead), **OpenSSL** (Debian's libssl, a BIO pair), and the "
        "**crypto floor** (the handshake's public-key operations alone through PSA; the AEAD work alone "
        "for transfers). Times are CPU time of the single benchmark thread.")
    add("")
    add("![chart](../bench/results/chart.png)")
    add("")
    add("## Instruction counts (callgrind)")
    add("")
    add("%s" % o.get("setup", ""))
    add("")
    add("| | sanstls | raw mbedTLS | OpenSSL | crypto floor | sanstls / raw mbedTLS |")
    add("|---|---:|---:|---:|---:|---:|")
    ih, ib, i12 = o["instructions_per_handshake"], o["instructions_per_byte"], o["instructions_per_handshake_tls12"]
    add("| instructions per TLS 1.3 handshake | %s | %s | %s | %s | **%s** |" % (
        fmt(ih.get("sanstls")), fmt(ih.get("mbedtls")), fmt(ih.get("openssl")), fmt(ih.get("floor")),
        o["instructions_per_handshake_ratio"]))
    add("| instructions per TLS 1.2 handshake | %s | %s | | | %s |" % (
        fmt(i12.get("sanstls")), fmt(i12.get("mbedtls")), o["instructions_per_handshake_ratio_tls12"]))
    add("| instructions per byte (16 KiB writes, AES-128-GCM) | %s | %s | %s | %s | **%s** |" % (
        fmt(ib.get("sanstls")), fmt(ib.get("mbedtls")), fmt(ib.get("openssl")), fmt(ib.get("floor")),
        o["instructions_per_byte_ratio"]))
    add("")
    add("Target: at most %.2f for both ratios (`overhead.*` in `latest.json`)." % o["target"])
    add("")

    def table(figure, title, unit_note, cases=None, time_like=False):
        cs = cases or sorted(c for (f, c) in gb if f == figure)
        if not cs:
            return
        add("## " + title)
        add("")
        add(unit_note)
        add("")
        add("| case | sanstls | raw mbedTLS | OpenSSL | crypto floor | sanstls / mbedTLS | sanstls / OpenSSL | floor / sanstls |")
        add("|---|---:|---:|---:|---:|---:|---:|---:|")
        for c in cs:
            v = {s: gb[(figure, c)].get(s, (None,))[0] for s in SYSTEMS}
            unit = "us" if time_like else ""
            add("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                c, fmt(v["sanstls"], unit), fmt(v["mbedtls"], unit), fmt(v["openssl"], unit),
                fmt(v["floor"], unit), fmt(ratio(v["sanstls"], v["mbedtls"])),
                fmt(ratio(v["sanstls"], v["openssl"])), fmt(ratio(v["floor"], v["sanstls"]))))
        add("")

    table("handshake", "Full handshakes per second",
          "Client and server both counted (one handshake = both sides' work). Cases: version / "
          "certificate key / key-exchange group; TLS_AES_128_GCM_SHA256 or ECDHE-*-AES128-GCM-SHA256. "
          "Ratios of rates: below 1 means sanstls is slower.")
    table("resume", "Resumed handshakes per second",
          "ECDSA P-256 certificate, X25519. TLS 1.3 resumption is psk_dhe_ke (a fresh X25519 exchange), so "
          "its floor is two key generations and two agreements; TLS 1.2 resumption has no public-key work "
          "(no floor).")
    table("bulk", "Bulk throughput (MB/s)",
          "TLS 1.3, ECDSA/X25519, 256 KiB per iteration in writes of 16 KiB or 1 KiB; *both* = both sides "
          "send at once (bytes of both directions counted). Floor: AEAD encrypt + decrypt of the same "
          "records through mbedTLS's cipher layer.")
    table("latency", "Small-record latency (µs)",
          "One 64-byte record: write on the client to decrypted read on the server (CPU time). Ratios of "
          "times: above 1 means sanstls is slower.", time_like=True)
    if heap:
        add("## Heap per connection (bytes)")
        add("")
        add("Measured by a malloc counter interposed in `sanstls_bench_heap` (every allocation, attributed "
            "to the side the driver is calling into); TLS 1.3 and 1.2, ECDSA/X25519/AES-128-GCM. *idle*: "
            "held after the handshake; *peak*: most held at once from creating the connection to then. "
            "sanstls's own accounting (`Connection::memory()`) in brackets. OpenSSL's figures include "
            "its BIO-pair buffer and its read/write buffers (no `SSL_MODE_RELEASE_BUFFERS`).")
        add("")
        add("| case | sanstls idle | raw mbedTLS idle | OpenSSL idle | sanstls peak | raw mbedTLS peak | OpenSSL peak |")
        add("|---|---:|---:|---:|---:|---:|---:|")
        for v in (13, 12):
            for side in ("client", "server"):
                row = {h["system"]: h for h in heap if h["version"] == v and h["side"] == side}
                if not row:
                    continue
                s = row.get("sanstls", {})
                add("| TLS 1.%d %s | %s [%s] | %s | %s | %s [%s] | %s | %s |" % (
                    v - 10, side, fmt(s.get("idle")), fmt(s.get("engine_idle")),
                    fmt(row.get("mbedtls", {}).get("idle")), fmt(row.get("openssl", {}).get("idle")),
                    fmt(s.get("peak")), fmt(s.get("engine_peak")),
                    fmt(row.get("mbedtls", {}).get("peak")), fmt(row.get("openssl", {}).get("peak"))))
        add("")
    crypto = sorted(c for (f, c) in gb if f == "crypto")
    if crypto:
        add("## Public-key primitives (PSA, operations per second)")
        add("")
        add("| operation | ops/s |")
        add("|---|---:|")
        for c in crypto:
            add("| %s | %s |" % (c, fmt(gb[("crypto", c)]["floor"][0])))
        add("")
    opts = latest.get("options")
    if opts:
        add("## mbedTLS options")
        add("")
        add("Each option is a `MBEDTLS_USER_CONFIG_FILE` overlay (`bench/mbedtls-options/*.h`) on our "
            "config, built in `build/bench-<name>` and measured against the unchanged build in the same "
            "run (%s). Cells: value and change against the baseline." % opts.get("generated", ""))
        add("")

        def opt_table(cols, results, lower_is_better):
            add("| option | " + " | ".join(cols) + " |")
            add("|---|" + "---:|" * len(cols))
            base = results.get("baseline", {})
            for name in ["baseline"] + [n for n in results if n != "baseline"]:
                res = results[name]
                cells = []
                for col in cols:
                    v, b = res.get(col), base.get(col)
                    if v is None:
                        cells.append("–")
                    elif name == "baseline" or not b:
                        cells.append(fmt(v))
                    else:
                        change = (v / b - 1) * 100
                        cells.append("%s (%+.0f%%)" % (fmt(v), change))
                add("| %s | %s |" % (opts.get("descriptions", {}).get(name, name), " | ".join(cells)))
            add("")

        if opts.get("icount"):
            add("**Instructions (callgrind, sanstls pair; lower is better; deterministic to a few tenths "
                "of a percent):** 3 handshakes per case, 1 MiB per bulk case.")
            add("")
            opt_table(opts["icount_columns"], opts["icount"], True)
        add("**Wall clock (CPU time, higher is better; one short repetition per option on a shared "
            "2-core VM, so differences under ~25% are noise — read the instruction counts first):**")
        add("")
        opt_table(opts["columns"], opts["results"], False)
    if latest.get("epoll"):
        sys.dont_write_bytecode = True  # no __pycache__ in the work tree
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import epoll_report
        add(epoll_report.markdown(latest["epoll"]).rstrip("\n"))
        add("")
    notes = os.path.join(ROOT, "bench", "performance-notes.md")
    if os.path.exists(notes):
        add(open(notes).read().rstrip())
        add("")
    with open(os.path.join(ROOT, "docs", "performance.md"), "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
