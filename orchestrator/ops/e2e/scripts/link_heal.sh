#!/bin/sh
# Heals the lab's latency-and-fault link (orchestrator/lab/relay.py) from a shell: the undo `invoke matrix
# --faults` journals before it cuts or blackholes the link, so `invoke restore` heals a link that a killed run
# left broken. It writes the relay's control file as orchestrator/lab/link.py does (the next generation, state
# open, the delay kept; under the same flock) and waits for the relay to acknowledge it. Idempotent: an open link
# is left as it is. Runs where the relay runs (the inventory's local host).
# Args: $1 the link's directory (control.json, state.json, relay.pid, control.lock).
# Out:  OPEN <generation> (was open) | HEALED <generation> | NO-RELAY <generation> (written; a relay started later
#       takes it up). Exit 1 when a running relay did not acknowledge within 5 s.
set -eu
dir=$1
control=$dir/control.json state=$dir/state.json
field() { sed -n "s/.*\"$1\": *\"\{0,1\}\([A-Za-z0-9.]*\).*/\1/p" "$2" 2>/dev/null | head -n 1; }
exec 9>>"$dir/control.lock"
flock -w 5 9
gen=$(field generation "$control") acked=$(field generation "$state")
gen=${gen:-0} acked=${acked:-0}
[ "$acked" -gt "$gen" ] && gen=$acked
if [ "$(field state "$control")" = open ] && [ "$(field state "$state")" = open ]; then echo "OPEN $gen"; exit 0; fi
delay=$(field delay_ms "$control")
next=$((gen + 1))
printf '{"generation": %s, "state": "open", "delay_ms": %s}\n' "$next" "${delay:-20}" > "$control.heal"
mv -f -- "$control.heal" "$control"
exec 9>&-
pid=$(cat -- "$dir/relay.pid" 2>/dev/null || true)
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then echo "NO-RELAY $next"; exit 0; fi
tries=0
while [ "$tries" -lt 100 ]; do
  seen=$(field generation "$state")
  if [ "${seen:-0}" -ge "$next" ]; then echo "HEALED $next"; exit 0; fi
  sleep 0.05
  tries=$((tries + 1))
done
echo "link_heal.sh: the relay (pid $pid) did not acknowledge generation $next within 5 s" >&2
exit 1
