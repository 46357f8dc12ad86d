"""The soak's report: one JSON-able summary, its verdict, and the same as markdown tables."""

from __future__ import annotations

import argparse
import os
import statistics
from collections import Counter
from typing import Any

from orderflow.bench.soak_arrivals import Arrivals
from orderflow.bench.soak_load import Load
from orderflow.bench.soak_memory import MemoryFigures
from orderflow.bench.soak_streams import Subscriber

UNBOUNDED = ("temporal",)  # the dev server keeps histories: its growth is not a leak


def summarise(
    *,
    args: argparse.Namespace,
    seconds: float,
    drain_seconds: float,
    load: Load,
    arrivals: list[Arrivals],
    cut_off: int,
    subscribers: list[Subscriber],
    memory: dict[str, MemoryFigures],
    gone: list[str],
    cpu: dict[str, float],
    restarts: list[str],
    machine_load: list[float],
    mix: str,
) -> dict[str, Any]:
    kinds: dict[str, dict[str, Any]] = {
        name: {
            "requests": stats.requests,
            "statuses": {str(s): n for s, n in sorted(stats.statuses.items())},
            "5xx": stats.server_errors,
            "stuck": stats.stuck,
            "no_answer": sum(stats.failures.values()),
            "unexpected": stats.unexpected,
            "p50_ms": stats.percentile_ms(0.5),
            "p99_ms": stats.percentile_ms(0.99),
        }
        for name, stats in load.kinds.items()
    }
    statuses: Counter[int] = Counter()
    for stats in load.kinds.values():
        statuses.update(stats.statuses)
    totals = {
        key: sum(kind[key] for kind in kinds.values())
        for key in ("requests", "5xx", "stuck", "no_answer", "unexpected")
    }
    streams = [
        {
            "name": sub.name,
            "reconnects_itself": sub.reconnect_every is not None,
            "connections": sub.connections,
            "events": len(sub.positions),
            "missed": sub.missed,
            "out_of_order": sub.out_of_order,
            "server_ends": sub.server_ends,
            "broken": sub.broken,
            "stalls": sub.stalls,
            "longest_event_gap_s": round(sub.longest_event_gap, 2),
        }
        for sub in subscribers
    ]
    processes = {
        name: {
            "start_mib": round(m.start, 1),
            "after_warm_up_mib": round(m.after_warm_up, 1),
            "end_mib": round(m.end, 1),
            "max_mib": round(m.max, 1),
            "growth_mib": round(m.growth, 1),
            "bounded": name not in UNBOUNDED,
            "cpu_percent": round(cpu.get(name, 0.0), 1),
        }
        for name, m in memory.items()
    }
    report: dict[str, Any] = {
        "minutes": args.minutes,
        "seconds": round(seconds, 1),
        "drain_seconds": round(drain_seconds, 1),
        "warm_up_seconds": args.warm_up,
        "mix": mix,
        "stuck_after_seconds": args.stuck_after,
        "max_growth_mib": args.max_growth_mib,
        "totals": totals,
        "statuses": {str(s): n for s, n in sorted(statuses.items())},
        "kinds": kinds,
        "orders": {
            "started": load.walks["started"],
            "completed": load.walks["completed"],
            "wrong": load.wrong_orders,
        },
        "answered_202_not_applied": dict(load.not_applied),
        "arrivals_skipped": {a.name: a.skipped for a in arrivals},
        "cut_off_at_end": cut_off,
        "subscribers": streams,
        "processes": processes,
        "load_cpu_percent": round(cpu.get("load", 0.0), 1),
        # Other work on the machine slows the stack down: say how busy it was.
        "machine": {
            "cores": os.cpu_count(),
            "load_average_mean": round(statistics.fmean(machine_load), 1) if machine_load else None,
            "load_average_max": round(max(machine_load), 1) if machine_load else None,
        },
        "processes_gone": gone,
        "restarts": restarts,
        "samples": load.samples,
        "load_errors": [error for a in arrivals for error in a.errors],
    }
    report["failures"] = verdict(report)
    report["passed"] = not report["failures"]
    return report


def verdict(report: dict[str, Any]) -> list[str]:
    """Why the soak failed, one reason a line; empty if it passed."""
    reasons: list[str] = []
    totals = report["totals"]
    bound = report["stuck_after_seconds"]
    for key, what in (
        ("5xx", "answers 5xx"),
        ("stuck", f"requests not answered within {bound:g} s"),
        ("no_answer", "requests that got no answer (connection failed)"),
        ("unexpected", "answers outside the expected statuses"),
    ):
        if totals[key]:
            reasons.append(f"{totals[key]} {what}")
    if report["orders"]["wrong"]:
        reasons.append(f"{len(report['orders']['wrong'])} orders wrong at the end of their walk")
    if report["load_errors"]:
        reasons.append(f"{len(report['load_errors'])} flows failed in the load generator")
    for sub in report["subscribers"]:
        problems = [
            f"{sub[key]} {what}"
            for key, what in (
                ("missed", "events missed"),
                ("out_of_order", "events duplicated or out of order"),
                ("stalls", "stalls"),
            )
            if sub[key]
        ]
        if not sub["connections"]:
            problems.append("never connected")
        if sub["longest_event_gap_s"] > bound:
            problems.append(f"waited {sub['longest_event_gap_s']:g} s for an event")
        if problems:
            reasons.append(f"{sub['name']}: {', '.join(problems)}")
    for name, figures in report["processes"].items():
        if figures["bounded"] and figures["growth_mib"] > report["max_growth_mib"]:
            reasons.append(
                f"{name} grew {figures['growth_mib']:g} MiB after warm-up "
                f"(bound {report['max_growth_mib']:g})"
            )
    if report["processes_gone"]:
        reasons.append(f"processes gone: {', '.join(report['processes_gone'])}")
    if report["restarts"]:
        reasons.append(f"{len(report['restarts'])} processes exited and were restarted")
    return reasons


def render(report: dict[str, Any]) -> str:
    """The report as markdown."""
    totals = report["totals"]
    orders = report["orders"]
    machine = report["machine"]
    skipped = ", ".join(f"{n} {name}" for name, n in report["arrivals_skipped"].items())
    lines = [
        f"\n## Soak: {report['minutes']:g} min of mixed load\n",
        "| | |",
        "|---|---|",
        f"| duration | {report['seconds']:g} s: {report['minutes'] * 60:g} s of arrivals, then "
        f"{report['drain_seconds']:g} s for the flows in flight to finish; memory growth "
        f"counted after a warm-up of {report['warm_up_seconds']:g} s |",
        f"| load | {report['mix']} |",
        f"| machine | {machine['cores']} cores, load average (1 min) "
        f"{machine['load_average_mean']} on average, {machine['load_average_max']} at most |",
        f"| requests | {totals['requests']} |",
        f"| answers by status | {_statuses(report['statuses'])} |",
        f"| 5xx | {totals['5xx']} |",
        f"| stuck (no answer within {report['stuck_after_seconds']:g} s) | {totals['stuck']} |",
        f"| no answer (connection failed) | {totals['no_answer']} |",
        f"| unexpected answers | {totals['unexpected']} |",
        f"| orders walked to delivered and checked | {orders['completed']} of "
        f"{orders['started']} ({len(orders['wrong'])} wrong) |",
        f"| answered 202, then not applied (said so by the outcome resource) | "
        f"{_statuses(report['answered_202_not_applied'])} |",
        f"| arrivals skipped (too many in flight) | {skipped} |",
        f"| flows cut off at the end | {report['cut_off_at_end']} |",
        f"| processes restarted | {len(report['restarts'])} |",
        f"| verdict | {'PASS' if report['passed'] else 'FAIL: ' + '; '.join(report['failures'])} |",
        "\n### Requests by kind\n",
        "| kind | requests | statuses | 5xx | stuck | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, kind in report["kinds"].items():
        lines.append(
            f"| {name} | {kind['requests']} | {_statuses(kind['statuses'])} | {kind['5xx']} "
            f"| {kind['stuck']} | {_ms(kind['p50_ms'])} | {_ms(kind['p99_ms'])} |"
        )
    lines += [
        "\n### Live subscribers\n",
        "| subscriber | reconnects itself | connections | events | missed | out of order "
        "| ended by server | broken | stalls | longest wait for an event s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for sub in report["subscribers"]:
        lines.append(
            f"| {sub['name']} | {'yes' if sub['reconnects_itself'] else 'no'} "
            f"| {sub['connections']} | {sub['events']} | {sub['missed']} | {sub['out_of_order']} "
            f"| {sub['server_ends']} | {sub['broken']} | {sub['stalls']} "
            f"| {sub['longest_event_gap_s']:g} |"
        )
    lines += [
        f"\n### Resident memory (MiB) and CPU (load generator: {report['load_cpu_percent']:g} %)\n",
        "| process | start | after warm-up | end | max | growth after warm-up | bound | CPU % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, p in report["processes"].items():
        bound = f"{report['max_growth_mib']:g}" if p["bounded"] else "none"
        lines.append(
            f"| {name} | {p['start_mib']:g} | {p['after_warm_up_mib']:g} | {p['end_mib']:g} "
            f"| {p['max_mib']:g} | {p['growth_mib']:+g} | {bound} | {p['cpu_percent']:g} |"
        )
    extras = [
        ("Answers kept for a look", report["samples"]),
        ("Orders wrong at the end", orders["wrong"]),
        ("Load generator failures", report["load_errors"]),
        ("Restarts", report["restarts"]),
    ]
    for title, items in extras:
        if items:
            lines += [f"\n{title}:", *(f"- {item}" for item in items)]
    return "\n".join(lines)


def _statuses(statuses: dict[str, int]) -> str:
    return ", ".join(f"{status}: {n}" for status, n in statuses.items()) or "-"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"
