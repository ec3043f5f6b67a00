#!/usr/bin/env bash
# The deploy checks of `make test-deploy` (part of `make test`). Everything here runs without Docker
# and without AWS credentials; .ci/install provides aws-sam-cli (with cfn-lint), shellcheck and
# hadolint.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

export SAM_CLI_TELEMETRY=0
GO=${GO:-go}
FUNCTIONS=(Users Articles Comments Favorites Repair)

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'check.sh: %s\n' "$*" >&2; exit 1; }

for tool in sam cfn-lint shellcheck python3 git make "$GO"; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found; run .ci/install"
done

step "sam validate --lint (template.yaml)"
sam validate --lint --template-file template.yaml

step "sam build (make sam-build: go1.x, linux/arm64, CGO_ENABLED=0)"
make --no-print-directory sam-build
# Each artifact must be a static linux/arm64 ELF named bootstrap (what provided.al2023 runs).
python3 - "${FUNCTIONS[@]}" <<'PY'
import struct, sys
for name in sys.argv[1:]:
    path = f".aws-sam/build/{name}Function/bootstrap"
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        sys.exit(f"{path}: not a 64-bit ELF executable")
    machine = struct.unpack_from("<H", elf, 18)[0]
    if machine != 183:
        sys.exit(f"{path}: e_machine {machine}, want 183 (aarch64)")
    phoff, = struct.unpack_from("<Q", elf, 32)
    phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    for i in range(phnum):
        if struct.unpack_from("<I", elf, phoff + i * phentsize)[0] == 3:
            sys.exit(f"{path}: dynamically linked (PT_INTERP); build with CGO_ENABLED=0")
    print(f"ok {path}: static linux/arm64, {len(elf) >> 20} MiB")
PY

step "cfn-lint (infra/deploy/relay-service.yaml)"
cfn-lint -- infra/deploy/relay-service.yaml
echo "ok infra/deploy/relay-service.yaml"

step "relay image binary (what infra/deploy/Dockerfile builds: CGO_ENABLED=0 linux/arm64)"
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 "$GO" build -trimpath -ldflags="-s -w" -o /dev/null ./relay/cmd/relay
echo "ok ./relay/cmd/relay"

step "hadolint (infra/deploy/Dockerfile)"
if command -v hadolint >/dev/null 2>&1; then
  hadolint infra/deploy/Dockerfile
  echo "ok infra/deploy/Dockerfile"
else
  echo "skipped: hadolint not installed (pip install -r .ci/requirements.txt)"
fi

step "docker compose file (infra/docker-compose.yml)"
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  docker compose -f infra/docker-compose.yml config --quiet
else
  # No Docker here: check that it parses and wires what localstack/deploy.sh relies on.
  python3 - <<'PY'
import sys, yaml
c = yaml.safe_load(open("infra/docker-compose.yml"))
s = c["services"]
env = s["localstack"]["environment"]
checks = {
    "network named changerelay": c["networks"]["changerelay"]["name"] == "changerelay",
    "LAMBDA_DOCKER_NETWORK": env["LAMBDA_DOCKER_NETWORK"] == "changerelay",
    "lambda in SERVICES": "lambda" in env["SERVICES"].split(","),
    "docker socket mounted": any(v.endswith(":/var/run/docker.sock") for v in s["localstack"]["volumes"]),
    "mongo replica set rs0": s["mongo"]["command"][:2] == ["--replSet", "rs0"],
    "mongo health check initiates rs0": "rs.initiate" in s["mongo"]["healthcheck"]["test"][-1],
}
bad = [k for k, ok in checks.items() if not ok]
if bad:
    sys.exit("infra/docker-compose.yml: " + ", ".join(bad))
PY
fi
echo "ok infra/docker-compose.yml"

step "shellcheck (every *.sh, .ci/run, .ci/install)"
scripts=()
while IFS= read -r f; do
  [[ -f $f ]] && scripts+=("$f")
done < <(git ls-files --cached --others --exclude-standard -- '*.sh' .ci/run .ci/install | sort -u)
shellcheck "${scripts[@]}"
printf 'ok %s\n' "${scripts[@]}"

step "template test (e2e/template_test.go)"
# -short: the template test is fast; the e2e TestMain builds the whole pipeline otherwise.
"$GO" test -short -count=1 -run '^TestTemplate' ./e2e/
