#!/usr/bin/env python3
"""Assembles build/firmware/report.json from each profile's linker map and
QEMU run (run.json), and fails if a run failed or a figure is missing.

    check_report.py --build build/firmware --out build/firmware/report.json psk cert
    check_report.py --doc docs/firmware.md --report build/firmware/report.json
        (checks that the doc's generated table matches the report;
         --update-doc rewrites it)
    check_report.py --table --report build/firmware/report.json   (prints the table)

Sizes: .text (code and read-only data: flash), .data (flash and RAM), .bss
(RAM), for the whole image and for the TLS part alone: the input sections
from the sanstls core and mbedTLS archives. The C/C++ runtime (newlib,
libstdc++, libgcc) and the board support are the rest of the image.
"""
import argparse
import json
import os
import re
import sys

# With LTO (the default) only the core and mbedTLS are LTO-compiled, so the
# ltrans objects hold exactly the TLS part.
TLS_ARCHIVES = ("libfw_sanstls.a(", "libfw_mbedtls.a(", ".ltrans.o", ".ltrans0.o")
RUNTIME_MARKERS = ("libc_nano.a(", "libc.a(", "libstdc++_nano.a(", "libstdc++.a(",
                   "libgcc.a(", "libm.a(", "libsupc++_nano.a(", "libsupc++.a(", "libnosys.a(")
KIND = {".text": "text", ".ARM.exidx": "text", ".data": "data", ".bss": "bss"}
BUDGETS = {"psk": {"tls_flash": 64 * 1024, "ram": 32 * 1024},
           "cert": {"tls_flash": 128 * 1024, "ram": 48 * 1024}}
INTEGER_FIGURES = ("tls_text", "tls_data", "tls_bss", "image_text", "image_data", "image_bss",
                   "peak_heap", "peak_stack", "handshake_cycles")


def map_sizes(path):
    """Sums the input sections of the linker map by output section and owner."""
    sizes = {f"{owner}_{kind}": 0 for owner in ("image", "tls", "runtime")
             for kind in ("text", "data", "bss")}
    with open(path) as f:
        lines = f.read().split("\n")
    try:
        lines = lines[lines.index("Linker script and memory map") + 1:]
    except ValueError:
        sys.exit(f"{path}: not a GNU ld map")
    output = None
    pending = None
    for line in lines:
        head = re.match(r"^(\.[\w.]+)(\s|$)", line)
        if head:
            output = head.group(1)
            pending = None
            continue
        if output not in KIND:
            continue
        entry = re.match(r"^ (\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(.+)$", line)
        if entry is None and pending is not None:
            entry = re.match(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(.+)$", line)
            if entry:
                size, owner = int(entry.group(2), 16), entry.group(3)
                pending = None
            else:
                pending = None
                continue
        elif entry:
            size, owner = int(entry.group(3), 16), entry.group(4)
        else:
            name_only = re.match(r"^ (\.\S+|COMMON)$", line)
            pending = name_only.group(1) if name_only else None
            continue
        kind = KIND[output]
        sizes[f"image_{kind}"] += size
        if any(marker in owner for marker in TLS_ARCHIVES):
            sizes[f"tls_{kind}"] += size
        elif any(marker in owner for marker in RUNTIME_MARKERS):
            sizes[f"runtime_{kind}"] += size
    return sizes


def build_report(build, profiles):
    report = {"board": "QEMU mps2-an386 (Cortex-M4F)", "profiles": {}}
    problems = []
    for profile in profiles:
        entry = {"handshake_ok": False}
        run_path = os.path.join(build, profile, "run.json")
        map_path = os.path.join(build, profile, "sanstls_firmware.map")
        run = {}
        if os.path.exists(run_path):
            with open(run_path) as f:
                run = json.load(f)
        else:
            problems.append(f"{profile}: no QEMU run ({run_path})")
        if os.path.exists(map_path):
            entry.update(map_sizes(map_path))
        else:
            problems.append(f"{profile}: no linker map ({map_path})")
        entry["handshake_ok"] = bool(run.get("handshake_ok") and run.get("round_trip_ok")
                                     and run.get("qemu_exit") == 0)
        entry["refuses_missing_features"] = bool(run.get("refuses_missing_features"))
        if not entry["refuses_missing_features"]:
            problems.append(f"{profile}: a setting this profile lacks was not refused by build()")
        if not entry["handshake_ok"]:
            problems.append(f"{profile}: the QEMU run failed: {run.get('error', 'no report')}")
        if "connection_heap_peak" in run:
            # The engine's own accounting: the Connection's peak plus what its
            # Config holds (every mbedTLS allocation goes through the hook).
            entry["peak_heap"] = run["connection_heap_peak"] + run.get("config_heap", 0)
            entry["peak_stack"] = run["peak_stack"]
            entry["peak_ram"] = entry["peak_heap"] + entry["peak_stack"]
        if "handshake_ticks" in run:
            # icount shift=0: 1 instruction per emulated ns; SysTick runs at
            # 25 MHz, so 40 instructions per tick.
            per_tick = 10**9 // run["ticks_per_second"]
            entry["handshake_cycles"] = run["handshake_ticks"] * per_tick
        for key in ("suite", "group", "uart_bytes_to_server", "uart_bytes_from_server"):
            if key in run:
                entry[key] = run[key]
        budget = BUDGETS.get(profile)
        if budget and "tls_text" in entry:
            entry["budget_tls_flash"] = budget["tls_flash"]
            entry["budget_ram"] = budget["ram"]
            entry["tls_flash"] = entry["tls_text"] + entry["tls_data"]
        for figure in INTEGER_FIGURES:
            if not isinstance(entry.get(figure), int):
                problems.append(f"{profile}: figure {figure} missing")
        report["profiles"][profile] = entry
    return report, problems


def table(report):
    rows = ["| profile | TLS flash (.text+.data) | TLS .bss | image .text | peak heap | peak stack "
            "| peak RAM (heap+stack) | handshake (icount instr.) |",
            "|---|---|---|---|---|---|---|---|"]
    for name, p in report["profiles"].items():
        flash = p["tls_text"] + p["tls_data"]
        rows.append(
            f"| {name} | {flash:,} B (budget {p.get('budget_tls_flash', 0) // 1024} KB) "
            f"| {p['tls_bss']:,} B | {p['image_text']:,} B | {p['peak_heap']:,} B "
            f"| {p['peak_stack']:,} B | {p['peak_ram']:,} B (budget {p.get('budget_ram', 0) // 1024} KB) "
            f"| {p['handshake_cycles'] / 1e6:.1f} M |")
    return "\n".join(rows)


def compare_tables(published, measured):
    """The sizes (TLS flash, TLS .bss, image .text) may differ by up to 3%:
    every change to the core moves them by some bytes, and the published
    table is refreshed with --update-doc when they drift further. Heap, stack
    and handshake time depend a little on the server's random values (its key
    share, its ECDSA nonce), so those may differ by up to 10%."""
    size_columns = 5  # '' | profile | TLS flash | TLS .bss | image .text
    published_rows = [row.split("|") for row in published.split("\n")]
    measured_rows = [row.split("|") for row in measured.split("\n")]
    if len(published_rows) != len(measured_rows):
        return ["the tables have different rows"]
    differences = []
    for old, new in zip(published_rows, measured_rows):
        if len(old) != len(new):
            differences.append(f"different columns: {'|'.join(old)}")
            continue
        for column, (a, b) in enumerate(zip(old, new)):
            if a.strip() == b.strip():
                continue
            a_value = re.match(r"\s*([\d,.]+)", a)
            b_value = re.match(r"\s*([\d,.]+)", b)
            if a_value and b_value and column >= 2:
                x = float(a_value.group(1).replace(",", ""))
                y = float(b_value.group(1).replace(",", ""))
                tolerance = 0.03 if column < size_columns else 0.10
                if abs(x - y) <= tolerance * max(x, y):
                    continue
            differences.append(f"published '{a.strip()}', measured '{b.strip()}'")
    return differences


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build")
    parser.add_argument("--out")
    parser.add_argument("--report")
    parser.add_argument("--doc")
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--update-doc", action="store_true",
                        help="with --doc: rewrite the doc's table from the report")
    parser.add_argument("profiles", nargs="*")
    args = parser.parse_args()
    if args.build:
        report, problems = build_report(args.build, args.profiles or ["psk", "cert"])
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
        print(table(report) if not problems else json.dumps(report, indent=2))
        for problem in problems:
            print("FAIL:", problem, file=sys.stderr)
        return 1 if problems else 0
    with open(args.report) as f:
        report = json.load(f)
    if args.table:
        print(table(report))
        return 0
    with open(args.doc) as f:
        doc = f.read()
    match = re.search(r"<!-- firmware-table -->\n(.*?)<!-- /firmware-table -->", doc, re.S)
    if not match:
        print(f"{args.doc}: no <!-- firmware-table --> block", file=sys.stderr)
        return 1
    if args.update_doc:
        start, end = match.span(1)
        with open(args.doc, "w") as f:
            f.write(doc[:start] + table(report) + "\n" + doc[end:])
        print(f"{args.doc}: table rewritten from {args.report}")
        return 0
    differences = compare_tables(match.group(1).strip(), table(report).strip())
    if differences:
        print(f"{args.doc}: the table differs from {args.report}:", file=sys.stderr)
        for difference in differences:
            print("  " + difference, file=sys.stderr)
        print(f"regenerate it with\n"
              f"  python3 firmware/host/check_report.py --table --report {args.report}",
              file=sys.stderr)
        return 1
    print(f"{args.doc} agrees with {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
