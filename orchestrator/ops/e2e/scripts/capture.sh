#!/bin/sh
# Read-only facts restore is verified against. Secret values are hashed here with a per-run salt and never
# printed. A journal keeps this script's text and re-runs it on restore, so its output lines never change.
# Args: $1 stack_dir, $2 project, $3 salt, then config files, `--secrets` secret files, `--data` data dirs.
# Out:  HEAD, DIRTY, FILE, SECRET, SECRETS_UNREADABLE, DATA, CONT, VOL, ENGINE, DANGLING, DOCKER_ERROR lines
#       (ops/e2e/baseline.py parse; CONT: ops/parsers/docker_inspect.py parse_brief).
stack=$1 project=$2 salt=$3; shift 3
echo "HEAD $(git -C "$stack" rev-parse HEAD 2>/dev/null || echo none)"
dirty=$(git -C "$stack" --no-optional-locks status --porcelain --untracked-files=no 2>&1 | sha256sum)
echo "DIRTY $(printf '%s' "$dirty" | cut -c1-16)"
section=files
for a in "$@"; do
  case "$a" in --secrets) section=secrets; continue;; --data) section=data; continue;; esac
  case $section in
  files)
    if [ -e "$a" ]; then echo "FILE $(sha256sum < "$a" | cut -c1-64) $(stat -c '%a %U:%G' -- "$a") $a"
    else echo "FILE absent - - $a"; fi;;
  data)
    if [ -d "$a" ]; then echo "DATA $(stat -c '%i %a %U:%G' -- "$a") $a"; else echo "DATA absent - - $a"; fi;;
  secrets)
    [ -r "$a" ] || { echo "SECRETS_UNREADABLE $a"; continue; }
    while IFS= read -r line || [ -n "$line" ]; do
      case "$line" in *=*) ;; *) continue;; esac
      key=${line%%=*}; key=${key#export }; key=$(printf '%s' "$key" | tr -d ' \t')
      case "$key" in ''|[0-9]*|*[!A-Za-z0-9_]*) continue;; esac
      echo "SECRET $key $(printf '%s\n%s' "$salt" "${line#*=}" | sha256sum | cut -c1-16) $a"
    done < "$a";;
  esac
done
if ids=$(docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$project" 2>&1); then
  fmt='{{.Name}} {{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}}'
  fmt="$fmt {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.Image}} {{.Config.Image}}"
  # shellcheck disable=SC2086 # $ids: container ids, one a line, split into arguments on purpose (hex, nothing to glob)
  [ -z "$ids" ] || docker inspect --format "$fmt" $ids | sed 's/^/CONT /'
  docker volume ls -q --filter "label=com.docker.compose.project=$project" | while read -r v; do
    echo "VOL $(docker volume inspect --format '{{.Name}} {{.CreatedAt}} {{.Mountpoint}}' "$v")"
  done
  # Every other container of the engine, by id, whoever made it (the project's are the CONT lines, by name:
  # a deploy re-creates them): a run must leave none behind, e.g. a failed build step's container.
  fmt='{{.ID}} {{.Image}} {{.Names}} {{.Label "com.docker.compose.project"}}'
  if all=$(docker ps -a --no-trunc --format "$fmt" 2>&1); then
    printf '%s\n' "$all" | awk -v p="$project" 'NF >= 3 && $4 != p { print "ENGINE", $1, $2, $3 }'
  else
    echo "DOCKER_ERROR $(printf '%s' "$all" | tail -n 1)"
  fi
  echo "DANGLING $(docker images -q --filter dangling=true | wc -l | tr -d ' ')"
else
  echo "DOCKER_ERROR $(printf '%s' "$ids" | tail -n 1)"
fi
