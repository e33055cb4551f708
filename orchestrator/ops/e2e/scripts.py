"""The host-side shell of an e2e: each phase is one POSIX sh script, one round trip.

Every user-given value (paths, branch, commands) reaches a script as a positional argument, quoted with
shlex.quote by `call()`, never pasted into the script text. The scripts only use what a Debian or Ubuntu
host has (coreutils, git, docker, awk, setsid).
"""

from __future__ import annotations

from orchestrator.host.shellcmd import call  # noqa: F401  (re-exported: modules use scripts.call)

# Read-only: what preflight needs, in one round trip. $1 state_dir, $2 stack_dir, $3 repo ("" = origin),
# $4 branch.
PREFLIGHT = r"""
state=$1 stack=$2 repo=$3 branch=$4
echo "NOW $(date +%s)"
[ -d "$stack" ] && echo "STACK_DIR ok"
if [ -z "$repo" ]; then repo=$(git -C "$stack" config --get remote.origin.url 2>/dev/null) || repo=""; fi
echo "REPO $repo"
if [ -e "$state/lease.json" ]; then printf 'LEASE '; tr -d '\n' < "$state/lease.json"; echo; fi
if [ -e "$state/journal.jsonl" ]; then printf 'JOURNAL '; head -n 1 "$state/journal.jsonl" | tr -d '\n'; echo; fi
d=$state; while [ ! -e "$d" ]; do d=$(dirname -- "$d"); done
[ -w "$d" ] && echo "WRITABLE $d"
echo "FREE_KB $(df -Pk -- "$d" | awk 'NR == 2 {print $4}')"
if docker compose version >/dev/null 2>&1; then echo "COMPOSE docker compose"
elif command -v docker-compose >/dev/null 2>&1; then echo "COMPOSE docker-compose"; fi
if [ -n "$repo" ]; then
  if out=$(git ls-remote --heads -- "$repo" "refs/heads/$branch" 2>&1); then
    printf '%s\n' "$out" | sed 's/^/REF /'
  else
    echo "REPO_ERROR $(printf '%s' "$out" | tail -n 1)"
  fi
fi
"""

# $1 state_dir, $2 the lease as one JSON line. `ln` is atomic: of two runs, exactly one creates the file.
LEASE_TAKE = r"""
set -eu
state=$1
[ -d "$state" ] || mkdir -p -m 700 -- "$state"
mkdir -p -- "$state/runs" "$state/history"
tmp="$state/.lease.$$"
printf '%s\n' "$2" > "$tmp"
if ln -- "$tmp" "$state/lease.json" 2>/dev/null; then rm -f -- "$tmp"; echo TAKEN
else rm -f -- "$tmp"; printf 'HELD '; tr -d '\n' < "$state/lease.json"; echo; fi
"""

# $1 lease path, $2 run id: removes the lease only if that run holds it.
LEASE_RELEASE = r"""
[ -e "$1" ] || { echo ABSENT; exit 0; }
if grep -qF -- "\"run_id\": \"$2\"" "$1"; then rm -f -- "$1"; echo RELEASED; else echo OTHER; fi
"""

# $1 lease path, $2 journal path: the lease line, the host's clock, the journal's first entry.
LEASE_READ = r"""
[ -e "$1" ] && tr -d '\n' < "$1"; echo
echo "NOW $(date +%s)"
if [ -n "${2:-}" ] && [ -e "$2" ]; then printf 'JOURNAL '; head -n 1 -- "$2"; fi
true
"""

# $1 journal path, $2 one JSON line. Written (and synced) before the mutation it describes is made.
JOURNAL_APPEND = r"""
set -eu
printf '%s\n' "$2" >> "$1"
sync -- "$1" 2>/dev/null || true
"""

JOURNAL_READ = r"""[ -e "$1" ] && cat -- "$1"; true"""

# $1 journal, $2 history file, $3 run dir: a finished journal goes to history; snapshot copies (they hold
# secrets) are deleted only now, after the host was verified restored.
JOURNAL_ARCHIVE = r"""
set -eu
mkdir -p -- "$(dirname -- "$2")"
[ -e "$1" ] && mv -f -- "$1" "$2"
rm -rf -- "$3/snapshot"
"""

# Read-only facts restore is verified against. $1 stack_dir, $2 project, $3 salt, then config files,
# `--secrets` secret files, `--data` data dirs. Secret values are hashed here with a per-run salt and
# never printed.
CAPTURE = r"""
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
"""

# $1 run dir, then config files: copies (mode kept) into the run's snapshot dir, numbered in order.
SNAPSHOT = r"""
set -eu
dst=$1/snapshot; shift
mkdir -p -m 700 -- "$dst"
i=0
for f in "$@"; do i=$((i + 1)); if [ -e "$f" ]; then cp -p -- "$f" "$dst/$i"; fi; done
echo "SNAPSHOT $i"
"""

# $1 run dir, then the same config files: puts back any file whose content, mode or owner differs.
RESTORE_FILES = r"""
set -eu
src=$1/snapshot; shift
i=0
for f in "$@"; do
  i=$((i + 1))
  [ -e "$src/$i" ] || continue
  if [ -e "$f" ] && cmp -s -- "$src/$i" "$f" \
     && [ "$(stat -c %a:%u:%g -- "$src/$i")" = "$(stat -c %a:%u:%g -- "$f")" ]; then continue; fi
  cp -p -- "$src/$i" "$f.shakedown-restore"
  mv -f -- "$f.shakedown-restore" "$f"
  echo "RESTORED $f"
done
"""

# $1 project, $2 tag, then (image id, service) pairs: keep the baseline images referenced, so that
# neither the branch's build (which moves the tags) nor a prune can take them away before restore.
PROTECT_IMAGES = r"""
set -eu
project=$1 tag=$2; shift 2
while [ "$#" -gt 1 ]; do docker tag "$1" "shakedown-baseline/$project-$2:$tag"; shift 2; done
"""

# Same arguments: drops the protecting tags, only where the image still has another name.
UNPROTECT_IMAGES = r"""
project=$1 tag=$2; shift 2
while [ "$#" -gt 1 ]; do
  ref="shakedown-baseline/$project-$2:$tag"
  n=$(docker image inspect --format '{{len .RepoTags}}' "$ref" 2>/dev/null || echo 0)
  [ "$n" -gt 1 ] && docker image rm "$ref" >/dev/null
  shift 2
done
true
"""

# $1 stack_dir (canonical), $2 e2e checkout, $3 repo, $4 branch, $5 project, then config files relative to
# stack_dir that seed the checkout. The canonical checkout is only read. $COMPOSE comes from the env.
DEPLOY = r"""
set -eu
stack=$1 checkout=$2 repo=$3 branch=$4 project=$5; shift 5
if [ ! -d "$checkout/.git" ]; then rm -rf -- "$checkout"; git clone -q --no-checkout -- "$repo" "$checkout"; fi
cd -- "$checkout"
git remote set-url origin "$repo"
git fetch -q --prune origin "+refs/heads/$branch:refs/remotes/origin/$branch"
git checkout -q -f --detach "refs/remotes/origin/$branch"
git clean -q -ffdx
for f in "$@"; do mkdir -p -- "$(dirname -- "$f")"; cp -p -- "$stack/$f" "$f"; done
echo "COMMIT $(git rev-parse HEAD)"
echo "VERSION $(head -n 1 VERSION 2>/dev/null || true)"
# --force-rm: a failed build step's container goes too (the classic builder keeps it otherwise). `up` has
# no such flag (compose v1), so build first, then start without building again.
$COMPOSE -p "$project" build --force-rm
$COMPOSE -p "$project" up -d --no-build --remove-orphans
ids=$(docker ps -q --filter "label=com.docker.compose.project=$project")
[ -z "$ids" ] || docker inspect --format 'IMAGE {{.Image}}' $ids
"""

# image ids: removes those the branch built, once nothing uses or names them (after a verified restore),
# so e2e runs do not fill the shared host's disk. Tagged or used images are never touched.
DROP_IMAGES = r"""
for id in "$@"; do
  tags=$(docker image inspect --format '{{len .RepoTags}}' "$id" 2>/dev/null) || continue
  [ "$tags" = 0 ] || continue
  [ -z "$(docker ps -aq --filter "ancestor=$id")" ] || continue
  docker image rm "$id" >/dev/null 2>&1 || true
done
true
"""

# The id of every container the engine had at baseline. Removes what an image build of this run left behind
# where --force-rm did not apply (compose v2 accepts and ignores it, and its classic builder keeps a failed
# step's container): a container that was not there before, is stopped, belongs to no compose project and was
# created from an image id, as the builder creates each step's. `docker rm` only: never -v (volumes are
# data), never -f (a running build is somebody's). One the daemon removed meanwhile is fine.
DROP_BUILD_LEFTOVERS = r"""
known=" $* " failed=0
ids=$(docker ps -aq --no-trunc --filter status=exited --filter status=created --filter status=dead) || exit 1
for id in $ids; do
  case "$known" in *" $id "*) continue;; esac
  facts=$(docker inspect --format '{{.Config.Image}} {{index .Config.Labels "com.docker.compose.project"}}' \
    "$id" 2>/dev/null) || continue
  image=${facts%% *} owner=${facts#* }
  case "$image" in sha256:*) ;; *) continue;; esac
  [ -z "$owner" ] || continue
  if docker rm -- "$id" >/dev/null; then echo "REMOVED $id $image"
  elif docker inspect --format '{{.Id}}' "$id" >/dev/null 2>&1; then failed=1; fi
done
exit $failed
"""

# $1 pid file: ends a command of this run that may still be running (its orchestrator may be gone).
END_INFLIGHT = r"""
[ -s "$1" ] || exit 0
pid=$(cat -- "$1")
kill -TERM "$pid" 2>/dev/null || exit 0
i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
kill -KILL "$pid" 2>/dev/null; true
"""

# $1 stack_dir, $2 project, then (image id, image name) pairs, `--stopped`, services stopped at baseline;
# or `--down` when nothing ran at baseline (containers removed; volumes never: no -v).
REDEPLOY_BASELINE = r"""
set -eu
stack=$1 project=$2; shift 2
if [ "${1:-}" = "--down" ]; then cd -- "$stack"; $COMPOSE -p "$project" down --remove-orphans; exit 0; fi
while [ "$#" -gt 1 ] && [ "$1" != "--stopped" ]; do docker tag "$1" "$2"; shift 2; done
[ "${1:-}" = "--stopped" ] && shift
cd -- "$stack"
$COMPOSE -p "$project" up -d --remove-orphans
if [ "$#" -gt 0 ]; then $COMPOSE -p "$project" stop "$@"; fi
"""

# $1 run dir, $2 checkout, $3 seconds, $4 the test command. Detached in its own session (survives the SSH
# connection), bounded on the host by `timeout`, its pid and exit code in files, output in test.log.
TEST_LAUNCH = r"""
set -eu
dir=$1 checkout=$2 limit=$3 cmd=$4
mkdir -p -- "$dir"
rm -f -- "$dir/test.rc" "$dir/test.pid"
: > "$dir/test.log"
cd -- "$checkout"
runner='timeout -k 5 "$1" sh -c "$2" & echo $! > "$3/test.pid"; wait $!
echo $? > "$3/test.rc.tmp"; mv "$3/test.rc.tmp" "$3/test.rc"'
setsid sh -c "$runner" launch "$limit" "$cmd" "$dir" >> "$dir/test.log" 2>&1 < /dev/null &
i=0; while [ ! -s "$dir/test.pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
echo "PID $(cat -- "$dir/test.pid")"
"""

# $1 run dir, $2 byte offset already seen: state line, then the log's next bytes in base64 (exact offsets
# whatever the encoding). The exit code is read before the log, so a finished run's log is complete.
TEST_POLL = r"""
dir=$1 off=$2
rc=$(cat -- "$dir/test.rc" 2>/dev/null) || rc=-
pid=$(cat -- "$dir/test.pid" 2>/dev/null) || pid=-
alive=0; [ "$pid" != - ] && kill -0 "$pid" 2>/dev/null && alive=1
echo "STATE ${rc:--} $alive"
tail -c +$((off + 1)) -- "$dir/test.log" 2>/dev/null | head -c 262144 | base64 | tr -d '\n'
echo
"""

# $1 run dir: ends the test run (its `timeout` passes SIGTERM to the whole test process group).
TEST_KILL = r"""
dir=$1
[ -e "$dir/test.rc" ] && exit 0
pid=$(cat -- "$dir/test.pid" 2>/dev/null) || exit 0
kill -TERM "$pid" 2>/dev/null || exit 0
i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -KILL -- "-$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null; true
"""

# $1 file, $2 backup, then (text, replacement) pairs. Edits on the host: the peer's file (which may hold
# secrets) never crosses the wire. Always edits from the backup, so a repeated borrow is idempotent.
PEER_BORROW = r"""
set -eu
f=$1 b=$2; shift 2
[ -e "$b" ] || cp -p -- "$f" "$b"
tmp="$f.shakedown-tmp"
trap 'rm -f -- "$tmp"' EXIT
cp -p -- "$b" "$tmp"
awk 'BEGIN { for (i = 1; i < ARGC; i += 2) { o[++n] = ARGV[i]; r[n] = ARGV[i + 1] }; ARGC = 1 }
{ line = $0
  for (k = 1; k <= n; k++) {
    s = line; line = ""
    while ((p = index(s, o[k])) > 0) {
      line = line substr(s, 1, p - 1) r[k]; s = substr(s, p + length(o[k])); hit[k]++
    }
    line = line s
  }
  print line }
END { for (k = 1; k <= n; k++) if (!hit[k]) { print "text to replace not found: " o[k] > "/dev/stderr"; exit 3 } }' \
  "$@" < "$b" > "$tmp"
mv -f -- "$tmp" "$f"
"""

# $1 file, $2 backup: the file back as it was (content, mode, owner), when it differs.
PEER_RESTORE = r"""
set -eu
f=$1 b=$2
[ -e "$b" ] || { echo "NO_BACKUP"; exit 0; }
if [ -e "$f" ] && cmp -s -- "$b" "$f" \
   && [ "$(stat -c %a:%u:%g -- "$b")" = "$(stat -c %a:%u:%g -- "$f")" ]; then exit 0; fi
cp -p -- "$b" "$f.shakedown-tmp"
mv -f -- "$f.shakedown-tmp" "$f"
echo "RESTORED $f"
"""

# $1 file: its hash, mode and owner (peer baseline).
FILE_FACTS = r"""
for f in "$@"; do
  if [ -e "$f" ]; then echo "FILE $(sha256sum < "$f" | cut -c1-64) $(stat -c '%a %U:%G' -- "$f") $f"
  else echo "FILE absent - - $f"; fi
done
"""
