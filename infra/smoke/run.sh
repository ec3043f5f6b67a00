#!/usr/bin/env bash
# Smoke test with a second, independent client: builds mongolocal, starts it
# on a free loopback port, runs smoke.py (pymongo) against it, and always
# stops the server. Exit status is smoke.py's; its last line is
# "N passed, M failed".
#
# Usage: bash infra/smoke/run.sh        (from anywhere; needs go and pymongo)
#        MONGODB_URI=... bash infra/smoke/run.sh   (skip mongolocal, use that server)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"

if [[ -n "${MONGODB_URI:-}" ]]; then
  exec "$python" infra/smoke/smoke.py "$MONGODB_URI"
fi

work="$(mktemp -d)"
server_pid=""
# shellcheck disable=SC2329 # invoked by the EXIT trap
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    # Bounded wait for a clean shutdown, then force it.
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "smoke: building mongolocal"
go build -o "$work/mongolocal" ./infra/cmd/mongolocal

port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
"$work/mongolocal" --addr "127.0.0.1:$port" >"$work/stdout" 2>"$work/stderr" &
server_pid=$!

# Wait (bounded) for the server to print its URI and accept connections.
uri=""
for _ in $(seq 1 300); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "smoke: mongolocal exited early:" >&2
    cat "$work/stderr" >&2
    exit 1
  fi
  uri="$(grep -m1 '^mongodb://' "$work/stdout" || true)"
  if [[ -n "$uri" ]] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    break
  fi
  uri=""
  sleep 0.1
done
if [[ -z "$uri" ]]; then
  echo "smoke: mongolocal did not accept connections on 127.0.0.1:$port within 30s" >&2
  cat "$work/stderr" >&2
  exit 1
fi

echo "smoke: mongolocal at $uri"
status=0
"$python" -u infra/smoke/smoke.py "$uri" | tee "$work/smoke.out" || status=$?
if [[ $status -ne 0 ]]; then
  echo "smoke: last server log lines:" >&2
  tail -n 50 "$work/stderr" >&2
  # Repeat the summary so it stays the last line.
  tail -n 1 "$work/smoke.out"
fi
exit "$status"
