"""The benchmark's Markdown: one table per comparison (min / median / max, peak memory, median ratio to the
group's first row), then the goals the numbers are judged against, met or missed."""

from __future__ import annotations

from typing import Any


def markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    lines = [f"## shakedown bench, {data['date']}", "",
             f"Machine: {m['system']}, {m['machine']}, {m['cpus']} CPUs, Python {m['python']}; "
             f"{data['versions']['openssh']}; ansible: {data['versions']['ansible']}. "
             f"{data['options']['runs']} runs each after a warm-up, interleaved.", ""]
    for group in data["groups"]:
        fmt = _seconds if group["metric"] == "wall" else _figure
        lines += [f"### {group['title']}", "", "| contender | min | median | max | peak RSS | ratio (median) |",
                  "|---|---|---|---|---|---|"]
        stats = group["stats"]
        base = next(iter(stats.values()), {}).get("median")
        for name, s in stats.items():
            ratio = f"{s['median'] / base:.2f}x" if base else "-"
            lines.append(f"| {name} | {fmt(s['min'])} | {fmt(s['median'])} | {fmt(s['max'])} "
                         f"| {s['max_rss_mb']:.0f} MB | {ratio} |")
        lines += [f"| {name} | {note} | | | | |" for name, note in group["notes"].items()]
        lines.append("")
    lines += ["### Goals", ""] + [f"- {g}" for g in goals(data)] + [""]
    return "\n".join(lines)


def goals(data: dict[str, Any]) -> list[str]:
    """Each goal of the benchmark issue with this run's figure: met, missed, or not measured."""
    check = _find(data, "check on one host")
    fan = _find(data, "fan-out")
    per = _find(data, "per command")
    red = _find(data, "redactor")
    out = []
    ours, ssh, ans = _med(check, "shakedown"), _med(check, "plain ssh"), _med(check, "ansible")
    out.append(_goal("check on 1 host <= 1.5x the batched plain-ssh baseline", ours / ssh if ours and ssh else None,
                     lambda r: r <= 1.5, "{:.2f}x"))
    out.append(_goal(">= 5x faster than ansible-playbook on the same checks", ans / ours if ans and ours else None,
                     lambda r: r >= 5, "{:.1f}x faster"))
    one = next((s["median"] for n, s in fan.items() if n.startswith("shakedown") and n.endswith(" 1 host(s)")), None)
    many = [s["median"] for n, s in fan.items() if n.startswith("shakedown")]
    out.append(_goal(f"{data['options']['hosts']} hosts <= 1.3x one host", many[-1] / one if one and many else None,
                     lambda r: r <= 1.3, "{:.2f}x"))
    api, cm = _med(per, "shakedown"), _med(per, "OpenSSH")
    out.append(_goal("per-command overhead <= 1.0x OpenSSH ControlMaster", api / cm if api and cm else None,
                     lambda r: r <= 1.0, "{:.2f}x" + (f" ({api * 1000:.1f} ms vs {cm * 1000:.1f} ms)" if api and cm
                                                      else "")))
    mbs = _med(red, "redactor")
    out.append(_goal("redactor >= 100 MB/s in bounded memory", mbs, lambda r: r >= 100,
                     "{:.0f} MB/s" + (f", peak RSS {red[next(iter(red))]['max_rss_mb']:.0f} MB" if red else "")))
    return out


def _find(data: dict[str, Any], prefix: str) -> dict[str, dict[str, float]]:
    return next((g["stats"] for g in data["groups"] if g["title"].startswith(prefix)), {})


def _med(stats: dict[str, dict[str, float]], prefix: str) -> float | None:
    return next((s["median"] for n, s in stats.items() if n.startswith(prefix)), None)


def _goal(text: str, value: float | None, ok: Any, fmt: str) -> str:
    if value is None:
        return f"{text}: not measured"
    return f"{text}: {fmt.format(value)} — {'met' if ok(value) else 'MISSED'}"


def _seconds(value: float) -> str:
    return f"{value:.3f} s"


def _figure(value: float) -> str:
    """Printed figures: seconds per command (shown in ms) or MB/s."""
    return f"{value * 1000:.2f} ms" if value < 1 else f"{value:.1f}"
