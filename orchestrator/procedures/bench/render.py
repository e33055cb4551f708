"""The benchmark's Markdown: one table per comparison (min / median / max, peak memory, median ratio to the
group's first row), then the goals the numbers are judged against, met or missed."""

from __future__ import annotations

from typing import Any

from orchestrator.procedures.bench.flows import OURS, ratio


def markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    lines = [f"## shakedown bench, {data['date']}", "",
             f"Machine: {m['system']}, {m['machine']}, {m['cpus']} CPUs, Python {m['python']}; "
             f"{data['versions']['openssh']}; ansible: {data['versions']['ansible']}; "
             f"locust: {data['versions'].get('locust', 'not installed')}. "
             f"{data['options']['runs']} runs each after a warm-up, interleaved.", ""]
    for group in data["groups"]:
        fmt = _seconds if group["metric"] == "wall" else _figure
        trips = group.get("round_trips") or {}
        extra = (" round trips |", "---|") if trips else ("", "")
        lines += [f"### {group['title']}", "", "| contender | min | median | max | peak RSS | ratio (median) |"
                  + extra[0], "|---|---|---|---|---|---|" + extra[1]]
        stats = group["stats"]
        base = next(iter(stats.values()), {}).get("median")
        for name, s in stats.items():
            ratio = f"{s['median'] / base:.2f}x" if base else "-"
            trip = f" {_trips(trips, name)} |" if trips else ""
            lines.append(f"| {name} | {fmt(s['min'])} | {fmt(s['median'])} | {fmt(s['max'])} "
                         f"| {s['max_rss_mb']:.0f} MB | {ratio} |{trip}")
        lines += [f"| {name} | {_cell(note)} | | | | |" + (" |" if trips else "")
                  for name, note in group["notes"].items()]
        lines.append("")
    if data.get("flows"):
        lines += flows_table(data["flows"])
    lines += ["### Goals", ""] + [f"- {g}" for g in goals(data)] + [""]
    return "\n".join(lines)


def flows_table(flows: dict[str, Any]) -> list[str]:
    """Per level, each contender's median run: requests/s (and its ratio to ours), client CPU per request in the
    load phase and in the whole process, latency percentiles (ours exact, Locust's rounded)."""
    lines = [f"### {flows['title']}", "",
             f"Target {flows['target']}; {flows['flows_per_level']} flows per level (each of N users runs "
             f"ceil({flows['flows_per_level']}/N) flows, each with fresh actors); {flows['runs']} run(s) each, "
             "interleaved, after a warm-up; the run with the median requests/s shown. CPU is the client process's "
             "user + sys per request: in the load phase, and for the whole process (start-up included). "
             f"Percentiles in ms: shakedown {flows['percentiles'][OURS]}; Locust {flows['percentiles']['Locust']}.",
             "", "| concurrency | contender | flows passed | requests | req/s | vs shakedown | CPU/request (load) "
             "| CPU/request (process) | p50 | p95 | p99 | peak RSS |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    ours = {r["concurrency"]: r["median"]["requests_per_second"] for r in flows["results"] if r["contender"] == OURS}
    for r in flows["results"]:
        m, base = r["median"], ours.get(r["concurrency"])
        passed = f"{m['flows_passed']}/{m['flows_passed'] + m['flows_failed']}"
        versus = f"{m['requests_per_second'] / base:.2f}x" if base else "-"
        lines.append(f"| {r['concurrency']} | {r['contender']} | {passed} | {m['requests']} | "
                     f"{m['requests_per_second']:.0f} | {versus} | "
                     f"{m['load_cpu_ms_per_request']:.2f} ms | {m['process_cpu_ms_per_request']:.2f} ms | "
                     f"{_ms(m['p50'])} | {_ms(m['p95'])} | {_ms(m['p99'])} | {m['max_rss_mb']:.0f} MB |")
    lines += [f"| - | {name} | {_cell(note)} | | | | | | | | | |" for name, note in flows["notes"].items()]
    return [*lines, ""]


def _ms(value: float) -> str:
    return f"{value:g}"


def goals(data: dict[str, Any]) -> list[str]:
    """Each target of the speed issue with this run's figure: met, MISSED, or not measured."""
    out = []
    links = (("loopback", "check on one host", 1.5), ("40 ms RTT link", "check over the link", 1.3))
    for where, prefix, limit in links:
        stats = _find(data, prefix)
        ours, ssh, ans = _med(stats, "shakedown"), _med(stats, "plain ssh"), _med(stats, "ansible")
        out.append(_goal(f"check, 1 host, {where}: <= {limit}x one batched plain ssh",
                         ours / ssh if ours and ssh else None, lambda r, lim=limit: r <= lim, "{:.2f}x"))
        out.append(_goal(f">= 5x faster than ansible-playbook on the same checks, {where}",
                         ans / ours if ans and ours else None, lambda r: r >= 5, "{:.1f}x faster"))
    fan = _find(data, "fan-out")
    one = next((s["median"] for n, s in fan.items() if n.startswith("shakedown") and n.endswith(" 1 host(s)")), None)
    many = [s["median"] for n, s in fan.items() if n.startswith("shakedown")]
    out.append(_goal(f"{data['options']['hosts']} hosts <= 1.3x one host", many[-1] / one if one and many else None,
                     lambda r: r <= 1.3, "{:.2f}x"))
    per = _find(data, "per command")
    api, cm = _med(per, "shakedown"), _med(per, "OpenSSH")
    out.append(_goal("per command on an open connection <= 0.6x OpenSSH ControlMaster",
                     api / cm if api and cm else None, lambda r: r <= 0.6,
                     "{:.2f}x" + (f" ({api * 1000:.1f} ms vs {cm * 1000:.1f} ms)" if api and cm else "")))
    red = _find(data, "redactor")
    mbs = _med(red, "redactor")
    rss = red[next(iter(red))]["max_rss_mb"] if red else None
    out.append(_goal("redactor >= 100 MB/s, peak RSS under 64 MB", mbs,
                     lambda r: r >= 100 and rss is not None and rss < 64,
                     "{:.0f} MB/s" + (f", peak RSS {rss:.0f} MB" if rss is not None else "")))
    crash = _med(_find(data, "e2e:"), "e2e feature-crash-loop")
    out.append(_goal("e2e of a crash-looping branch: RED within 15 s of the deploy finishing", crash,
                     lambda r: r <= 15, "{:.1f} s"))
    if data.get("flows"):
        out.append(_flows_goal(data["flows"]))
    return out


def _flows_goal(flows: dict[str, Any]) -> str:
    """At the highest level measured (32 by default): at least the fastest Locust client's requests/s."""
    top = max(flows["concurrency"])
    text = f"flows at concurrency {top}: at least Locust's requests/s (its faster client)"
    found = ratio(flows["results"], top)
    if found is None:
        return _goal(text, None, None, "")
    value, best, ours, theirs = found
    return _goal(text, value, lambda r: r >= 1.0, f"{{:.2f}}x ({ours:.0f} vs {theirs:.0f} req/s, {best})")


def _cell(text: str) -> str:
    """A note as one table cell: one line, no pipes, not a wall of a tool's usage text."""
    flat = " ".join(text.split()).replace("|", "/")
    return flat if len(flat) <= 200 else flat[:197] + "..."


def _trips(trips: dict[str, str], contender: str) -> str:
    return next((v for k, v in trips.items() if contender.startswith(k)), "-")


def _find(data: dict[str, Any], prefix: str) -> dict[str, dict[str, float]]:
    return next((g["stats"] for g in data["groups"] if g["title"].startswith(prefix)), {})


def _med(stats: dict[str, dict[str, float]], prefix: str) -> float | None:
    return next((s["median"] for n, s in stats.items() if n.startswith(prefix)), None)


def _goal(text: str, value: float | None, ok: Any, fmt: str) -> str:
    if value is None:
        return f"{text}: not measured"
    return f"{text}: {fmt.format(value)} — {'MET' if ok(value) else 'MISSED'}"


def _seconds(value: float) -> str:
    return f"{value:.3f} s"


def _figure(value: float) -> str:
    """Printed figures: seconds per command (shown in ms) or MB/s."""
    return f"{value * 1000:.2f} ms" if value < 1 else f"{value:.1f}"
