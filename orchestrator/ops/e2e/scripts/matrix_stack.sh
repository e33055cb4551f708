#!/bin/sh
# One operation on a deployed stack for `invoke matrix --lifecycle` (restart) and `--faults` (each fault's inject
# and its heal). Every heal is idempotent: it acts only on containers in the state it undoes, so a restore may
# run it again. Volumes are never touched (no -v anywhere).
# Args: $1 action, $2 stack dir, $3 compose project, then the services it acts on (stop..remove need them):
#       restart   compose restart of the whole project (containers kept, restarted in place)
#       up        compose up -d --no-build: brings back what is missing or stopped (heal of remove, undo of restart)
#       stop      docker stop the services' running containers      start    docker start those exited or created
#       pause     docker pause the services' running containers     unpause  docker unpause the paused ones
#       remove    docker rm -f the services' containers (never their volumes: no -v)
#       Env: $COMPOSE, the compose CLI (restart, up).
# Out:  BEFORE <service> <container id> <name> <status> <started at> per container of the project, docker's or compose's
#       own lines, then AFTER ... the same (ops/matrix/stackop.py).
set -eu
action=$1 stack=$2 project=$3; shift 3
states() {
  ids=$(docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$project")
  [ -n "$ids" ] || return 0
  # One inspect for all; a container that vanished meanwhile is left out. Word splitting of ids is meant.
  # shellcheck disable=SC2086
  docker inspect --format "$1"' {{index .Config.Labels "com.docker.compose.service"}} {{.Id}} {{.Name}} {{.State.Status}} {{.State.StartedAt}}' $ids 2>/dev/null || true
}
mine() {
  for service in "$@"; do
    docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$project" \
      --filter "label=com.docker.compose.service=$service"
  done
}
states BEFORE
case $action in
  restart|up)
    cd -- "$stack"
    if [ "$action" = restart ]; then $COMPOSE -p "$project" restart 2>&1
    else $COMPOSE -p "$project" up -d --no-build --remove-orphans 2>&1; fi ;;
  stop|start|pause|unpause|remove)
    [ "$#" -gt 0 ] || { echo "matrix_stack.sh: $action needs the services to act on" >&2; exit 2; }
    for id in $(mine "$@"); do
      status=$(docker inspect --format '{{.State.Status}}' "$id" 2>/dev/null || echo gone)
      case $action:$status in
        stop:running|stop:restarting) docker stop "$id" ;;
        start:exited|start:created) docker start "$id" ;;
        pause:running) docker pause "$id" ;;
        unpause:paused) docker unpause "$id" ;;
        remove:gone) echo "$id already gone" ;;
        remove:*) docker rm -f "$id" ;;
        *) echo "$id is $status: nothing to $action" ;;
      esac
    done ;;
  *) echo "matrix_stack.sh: unknown action $action" >&2; exit 2 ;;
esac
states AFTER
