#!/usr/bin/env bash
# Deploys the five functions into LocalStack (started by `make up`) and prints what the relay and
# the e2e suite need. Idempotent: run it again after changing a function.
#
#   1. builds every function for the Docker host's architecture (`make build ARCH=...`)
#   2. stores the MongoDB URI that Lambda containers can reach in a Secrets Manager secret
#   3. creates or updates the functions <FUNCTION_PREFIX><name> (provided.al2023 zip, bootstrap)
#      with MONGODB_URI_SECRET_ARN and MONGODB_DATABASE, as template.yaml does in AWS
#   4. creates the indexes and enables pre-images (`make indexes`) through the host's port
#   5. smoke-invokes repair in dry-run mode: proves secret, network and MongoDB from inside Lambda
#   6. writes KEY='value' lines to bin/localstack.env and prints them on stdout
#
# Needs: Docker (running `make up`), Go, make, the AWS CLI (v1 or v2), and zip or python3.
# Every setting below can be overridden from the environment.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

ENDPOINT=${LOCALSTACK_ENDPOINT:-http://localhost:4566}
REGION=${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}
PREFIX=${FUNCTION_PREFIX:-changerelay-}
DATABASE=${MONGODB_DATABASE:-conduit}
SECRET_NAME=${SECRET_NAME:-changerelay/mongodb-uri}
ROLE_NAME=${ROLE_NAME:-changerelay-functions}
# Lambda containers are on the compose network "changerelay", where MongoDB is "mongo".
LAMBDA_MONGODB_URI=${LAMBDA_MONGODB_URI:-mongodb://mongo:27017/?replicaSet=rs0}
# The host reaches the same server through the published port; directConnection because the
# replica set member is named mongo:27017, which the host cannot resolve.
HOST_MONGODB_URI=${HOST_MONGODB_URI:-mongodb://localhost:27017/?replicaSet=rs0&directConnection=true}
ENV_FILE=${ENV_FILE:-$ROOT/bin/localstack.env}
SMOKE=${SMOKE:-1}
READY_TIMEOUT=${READY_TIMEOUT:-180}
FUNCTIONS=(users articles comments favorites repair)

# LocalStack accepts any credentials; keep real ones out of it.
export AWS_ACCESS_KEY_ID=${LOCALSTACK_ACCESS_KEY_ID:-test}
export AWS_SECRET_ACCESS_KEY=${LOCALSTACK_SECRET_ACCESS_KEY:-test}
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL
export AWS_PAGER=""

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'localstack/deploy.sh: %s\n' "$*" >&2; exit 1; }

awsls() { aws --endpoint-url "$ENDPOINT" --region "$REGION" "$@"; }

require() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}

# The architecture Lambda containers run on: the Docker host's (override with LAMBDA_ARCH).
go_arch() {
  case "${LAMBDA_ARCH:-$(uname -m)}" in
    x86_64 | amd64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) die "unsupported architecture $(uname -m); set LAMBDA_ARCH=x86_64 or arm64" ;;
  esac
}

lambda_arch() {
  if [[ $1 == amd64 ]]; then echo x86_64; else echo arm64; fi
}

wait_for_localstack() {
  local deadline=$((SECONDS + READY_TIMEOUT))
  log "waiting for LocalStack at $ENDPOINT (up to ${READY_TIMEOUT}s)"
  until awsls lambda list-functions --max-items 1 >/dev/null 2>&1 &&
    awsls secretsmanager list-secrets --max-results 1 >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "LocalStack did not answer at $ENDPOINT; is \`make up\` running? (docker compose -f infra/docker-compose.yml logs localstack)"
    sleep 2
  done
}

build_zips() { # $1 = GOARCH, $2 = output dir
  log "building functions for linux/$1"
  make -C "$ROOT" --no-print-directory build ARCH="$1" >&2
  local name src
  for name in "${FUNCTIONS[@]}"; do
    src="$ROOT/bin/functions/$name/bootstrap"
    [[ -x $src ]] || die "make build did not produce $src"
    rm -f "$2/$name.zip"
    if command -v zip >/dev/null 2>&1; then
      (cd "$(dirname "$src")" && zip -q -X "$2/$name.zip" bootstrap)
    else
      (cd "$(dirname "$src")" && python3 -m zipfile -c "$2/$name.zip" bootstrap)
    fi
  done
}

ensure_role() {
  local trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
  if ! awsls iam get-role --role-name "$ROLE_NAME" >/dev/null 2>&1; then
    log "creating role $ROLE_NAME"
    awsls iam create-role --role-name "$ROLE_NAME" --assume-role-policy-document "$trust" >/dev/null
  fi
  awsls iam get-role --role-name "$ROLE_NAME" --query Role.Arn --output text
}

ensure_secret() {
  if awsls secretsmanager describe-secret --secret-id "$SECRET_NAME" >/dev/null 2>&1; then
    log "updating secret $SECRET_NAME"
    awsls secretsmanager put-secret-value --secret-id "$SECRET_NAME" --secret-string "$LAMBDA_MONGODB_URI" >/dev/null
  else
    log "creating secret $SECRET_NAME"
    awsls secretsmanager create-secret --name "$SECRET_NAME" --secret-string "$LAMBDA_MONGODB_URI" >/dev/null
  fi
  awsls secretsmanager describe-secret --secret-id "$SECRET_NAME" --query ARN --output text
}

deploy_function() { # $1 = name, $2 = zip, $3 = role ARN, $4 = secret ARN, $5 = Lambda architecture
  local fn="$PREFIX$1" timeout=60 memory=256 env
  if [[ $1 == repair ]]; then
    timeout=900
    memory=1024
  fi
  env=$(printf '{"Variables":{"MONGODB_URI_SECRET_ARN":"%s","MONGODB_DATABASE":"%s"}}' "$4" "$DATABASE")
  if awsls lambda get-function --function-name "$fn" >/dev/null 2>&1; then
    log "updating function $fn"
    awsls lambda update-function-code --function-name "$fn" --zip-file "fileb://$2" \
      --architectures "$5" >/dev/null
    awsls lambda wait function-updated-v2 --function-name "$fn"
    awsls lambda update-function-configuration --function-name "$fn" --timeout "$timeout" \
      --memory-size "$memory" --environment "$env" --role "$3" >/dev/null
    awsls lambda wait function-updated-v2 --function-name "$fn"
  else
    log "creating function $fn"
    awsls lambda create-function --function-name "$fn" --runtime provided.al2023 \
      --handler bootstrap --architectures "$5" --role "$3" --zip-file "fileb://$2" \
      --timeout "$timeout" --memory-size "$memory" --environment "$env" >/dev/null
    awsls lambda wait function-active-v2 --function-name "$fn"
  fi
}

smoke_invoke_repair() { # $1 = work dir
  local out="$1/repair-out.json" meta="$1/repair-meta.json"
  printf '{"dryRun":true}' >"$1/repair-event.json"
  log "smoke test: invoking ${PREFIX}repair with {\"dryRun\":true} (the first invoke pulls the runtime image)"
  awsls --cli-read-timeout 900 lambda invoke --function-name "${PREFIX}repair" \
    --payload "fileb://$1/repair-event.json" "$out" >"$meta"
  if grep -q FunctionError "$meta"; then
    cat "$meta" "$out" >&2
    printf '\n' >&2
    die "${PREFIX}repair failed; its logs: docker ps -a --filter name=lambda, then docker logs <container>; or rerun with LOCALSTACK_DEBUG=1 make up"
  fi
  log "repair dry-run answered: $(head -c 300 "$out")"
}

main() {
  require aws "install the AWS CLI (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html or pip install awscli)"
  require make "install make"
  require go "install Go (see go.work for the version)"
  command -v zip >/dev/null 2>&1 || require python3 "install zip or python3 (to package bootstrap)"

  local goarch larch role_arn secret_arn name
  goarch=$(go_arch)
  larch=$(lambda_arch "$goarch")
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  local work=$WORK

  wait_for_localstack
  build_zips "$goarch" "$work"
  role_arn=$(ensure_role)
  secret_arn=$(ensure_secret)
  for name in "${FUNCTIONS[@]}"; do
    deploy_function "$name" "$work/$name.zip" "$role_arn" "$secret_arn" "$larch"
  done

  log "creating indexes and enabling pre-images in $DATABASE"
  make -C "$ROOT" --no-print-directory indexes MONGODB_URI="$HOST_MONGODB_URI" MONGODB_DATABASE="$DATABASE" >&2

  if [[ $SMOKE == 1 ]]; then
    smoke_invoke_repair "$work"
  fi

  mkdir -p "$(dirname "$ENV_FILE")"
  {
    printf "LAMBDA_ENDPOINT='%s'\n" "$ENDPOINT"
    printf "MONGODB_URI='%s'\n" "$HOST_MONGODB_URI"
    printf "MONGODB_DATABASE='%s'\n" "$DATABASE"
    printf "FUNCTION_PREFIX='%s'\n" "$PREFIX"
    printf "AWS_REGION='%s'\n" "$REGION"
    printf "AWS_ACCESS_KEY_ID='%s'\n" "$AWS_ACCESS_KEY_ID"
    printf "AWS_SECRET_ACCESS_KEY='%s'\n" "$AWS_SECRET_ACCESS_KEY"
  } >"$ENV_FILE"
  log "functions read the MongoDB URI from $secret_arn"
  log "deployed; environment for the relay and the e2e suite (also in ${ENV_FILE#"$ROOT"/}):"
  cat "$ENV_FILE"
}

main "$@"
