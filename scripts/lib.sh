# Shared by scripts/dev and scripts/test. Source it; do not run it.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
export PATH="$venv/bin:$PATH"

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Starts a moto server (it speaks DynamoDB, S3 and SESv2 on one port) in its own process
# group and waits until it answers. Sets MOTO_PID.
#
# The local stack runs two: one for data (DynamoDB, S3) and one that captures mail (SESv2,
# through AWS_ENDPOINT_URL_SESV2). moto keeps every object it ever made for its
# /moto-api/data.json dump, which is how mail is read back; on a mail-only emulator that
# dump stays as small as the mail sent, instead of growing with every DynamoDB item.
#
# A third argument records the AWS calls of function binaries there (for the IAM check).
start_emulator() {
  local port="$1" log="$2" iam_log="${3:-}"
  # One request at a time (scripts/moto_serial.py explains why). Without moto's global
  # allow-everything CORS, S3 answers browsers from the bucket's own CORS rules, as in AWS.
  MOTO_DISABLE_GLOBAL_CORS=true DISPATCH_IAM_LOG="$iam_log" \
    setsid "$venv/bin/python" "$root/scripts/moto_serial.py" 127.0.0.1 "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  wait_for_url "http://127.0.0.1:$port/moto-api/" 100 moto "$log"
}

# Waits until $1 answers (up to $2 tenths of a second); otherwise prints $3's log ($4).
wait_for_url() {
  local url="$1" tries="$2" what="$3" log="$4"
  for _ in $(seq 1 "$tries"); do
    if curl -fsS "$url" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "$what did not start; its log:" >&2
  cat "$log" >&2
  return 1
}

# Starts scripts/fault_proxy.py on $1 in front of the emulator at $2 (the suite's fault
# tests point their clients at it) and waits until it answers. Sets FAULT_PID.
start_fault_proxy() {
  local port="$1" upstream="$2" log="$3"
  setsid "$venv/bin/python" "$root/scripts/fault_proxy.py" "$port" "$upstream" >"$log" 2>&1 &
  FAULT_PID=$!
  wait_for_url "http://127.0.0.1:$port/__faults/log" 50 "the fault proxy" "$log"
}

# Builds every function binary (debug), and dispatch-admin which seeds the local stack,
# exactly as `cargo lambda watch` will run them: `cargo run --bin X` resolves features over
# the workspace's default members (Cargo.toml), and so does a plain `cargo build --bins`.
build_functions() {
  cargo build --quiet --bins
}

# Kills a process group started with setsid, if it is still there.
stop_group() {
  local pid="${1:-}"
  [[ -n "$pid" ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do
    kill -0 -- "-$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
}

# The environment every function, tool and test sees locally: the same variables the
# template sets, plus the emulator endpoint and dummy credentials. The secrets' ARNs are
# appended by local_resources.py once it has created them in the emulator.
# DISPATCH_AWS_ATTEMPT_TIMEOUT_SECS relaxes the SDK's attempt timeout for the emulator only
# (it queues requests and ignores DynamoDB's client request tokens; shared/aws explains), and with
# it the request deadline (four such attempts instead of 8 s);
# the deployed functions keep their 2-second attempts, and so do the fault tests.
write_env() {
  local port="$1" mail_port="$2" file="$3"
  cat >"$file" <<ENV
AWS_REGION=us-east-1
AWS_DEFAULT_REGION=us-east-1
AWS_ACCESS_KEY_ID=local
AWS_SECRET_ACCESS_KEY=local
AWS_ENDPOINT_URL=http://127.0.0.1:$port
AWS_ENDPOINT_URL_SESV2=http://127.0.0.1:$mail_port
TABLE_NAME=dispatch-local
BUCKET_NAME=dispatch-local-attachments
SENDER_ADDRESS=no-reply@dispatch.local
INBOUND_DOMAIN=support.dispatch.test
STAGE=local
RUST_LOG=info
PORTAL_ACTIVE_KEY=a
DISPATCH_AWS_ATTEMPT_TIMEOUT_SECS=30
ENV
}

# Creates the template's table, bucket, secrets and SES identity in the running emulator,
# then adds the secrets' ARNs to the env file ($1) and loads it again.
create_local_resources() {
  python "$root/scripts/local_resources.py" --env-file "$1"
  load_env "$1"
}

load_env() {
  set -a
  # shellcheck disable=SC1090
  source "$1"
  set +a
}
