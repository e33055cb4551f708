#!/bin/sh
# The benchmark's contender for `invoke check --host dev`: the commands it runs on the host
# (playbooks/tasks/health.yml), batched: one round trip is the physical near-limit for any tool. Each line
# stands alone: Ansible runs one task per line.
# Args: none (the lab's dev host and paths are fixed).
# Out:  ignored (the benchmark times it).
# Whole file, as a header line, so the task lines stay as they are:
# shellcheck disable=SC2086 # $ids: container ids, one a line, split into arguments on purpose (hex, nothing to glob)
echo reachable
docker version --format '{{.Server.Version}}'
ids=$(docker ps -aq --no-trunc --filter label=com.docker.compose.project=sample); docker inspect $ids > /dev/null
df -Pk / /var/lib/shakedown-lab/dev/stack
cat /var/lib/shakedown-lab/dev/stack/VERSION
curl -sS --max-time 5 http://127.0.0.1:18080/api/version
curl -sS --max-time 5 -o /dev/null -w '%{http_code}\n' http://127.0.0.1:18081/
curl -sS --max-time 5 http://127.0.0.1:18081/version.json
ls /var/lib/shakedown-lab/dev/shakedown > /dev/null
ps -eo pid=,etimes=,args= > /dev/null
