# changerelay: one Makefile for the whole workspace (go.work).
# Targets that need Docker or AWS credentials say so in README.md.

SHELL := /bin/bash
GO ?= go
MODULES := infra functions relay e2e
GOTEST_FLAGS ?= -race -count=1 -timeout 45m
FUNCTIONS := users articles comments favorites repair
ARCH ?= arm64
BIN := $(CURDIR)/bin

.PHONY: all test test-go test-smoke test-deploy build mongo vet fmt bench clean

all: build

## test: every module's tests with -race, then the second-client smoke test
## and the deploy checks. What CI runs (.ci/run).
test: test-go test-smoke test-deploy

test-go:
	$(GO) test $(GOTEST_FLAGS) $(addsuffix /...,$(addprefix ./,$(MODULES)))

## test-smoke: pymongo against a fresh mongolocal (infra/smoke).
test-smoke:
	bash infra/smoke/run.sh

## test-deploy: sam validate --lint and sam build of template.yaml, cfn-lint of the relay service
## stack, hadolint of its Dockerfile, shellcheck of every script, the template test
## (infra/deploy/check.sh). No Docker, no AWS credentials; needs aws-sam-cli and shellcheck (.ci/install).
test-deploy:
	bash infra/deploy/check.sh

# --- AWS SAM and LocalStack (README "Deploying" and localstack/README.md) ---
COMPOSE := docker compose -f infra/docker-compose.yml
# sam build runs `go build` in each CodeUri with GOOS/GOARCH from the template and no flags of its
# own: pass static, stripped, RPC-free builds through the environment (keeping the user's GOFLAGS).
SAM_ENV = CGO_ENABLED=0 SAM_CLI_TELEMETRY=0 \
	GOFLAGS="$(strip $(shell $(GO) env GOFLAGS) -trimpath -ldflags=-s -tags=lambda.norpc)"
SAM_DEPLOY_FLAGS ?=
LOGICAL_ID_users := UsersFunction
LOGICAL_ID_articles := ArticlesFunction
LOGICAL_ID_comments := CommentsFunction
LOGICAL_ID_favorites := FavoritesFunction
LOGICAL_ID_repair := RepairFunction

.PHONY: sam-build invoke deploy up down localstack-deploy e2e-localstack

## sam-build: sam build of template.yaml into .aws-sam/build (Go only, no Docker).
sam-build:
	$(SAM_ENV) sam build

## invoke: sam local invoke FUNCTION (users|articles|comments|favorites|repair) with EVENT (a JSON
## file), against the MongoDB of `make up`. Needs Docker.
##   make up && make invoke FUNCTION=users EVENT=functions/events/users-update.json
invoke:
	@test -n "$(LOGICAL_ID_$(FUNCTION))" || { echo "FUNCTION must be one of: $(FUNCTIONS)" >&2; exit 2; }
	@test -f "$(EVENT)" || { echo "EVENT must name a JSON event file, e.g. EVENT=functions/events/users-update.json" >&2; exit 2; }
	$(MAKE) --no-print-directory sam-build
	$(SAM_ENV) sam local invoke $(LOGICAL_ID_$(FUNCTION)) -e $(EVENT)

## deploy: sam build and sam deploy of the functions (stack "changerelay", samconfig.toml). Needs
## AWS credentials. First time: make deploy SAM_DEPLOY_FLAGS=--guided (asks for MongoDBSecretArn).
deploy: sam-build
	$(SAM_ENV) sam deploy $(SAM_DEPLOY_FLAGS)

## up / down: MongoDB 7 (replica set rs0) and LocalStack in Docker (infra/docker-compose.yml).
up:
	$(COMPOSE) up -d --wait

down:
	$(COMPOSE) down -v --remove-orphans

## localstack-deploy: build the functions, deploy them into LocalStack, write bin/localstack.env.
localstack-deploy:
	bash localstack/deploy.sh

## e2e-localstack: up, localstack-deploy, then the e2e suite against LocalStack and MongoDB 7.
e2e-localstack:
	$(MAKE) --no-print-directory up
	$(MAKE) --no-print-directory localstack-deploy
	set -a && . $(BIN)/localstack.env && set +a && \
	E2E_TARGET=localstack $(GO) test -count=1 -timeout 30m ./e2e/...

## mongo: the embedded MongoDB-compatible server on 127.0.0.1:27017.
mongo:
	$(GO) run ./infra/cmd/mongolocal --addr 127.0.0.1:27017 $(if $(DBPATH),--dbpath $(DBPATH))

## bench-mongolocal: mongolocal's benchmarks (figures in infra/mongolocal/README.md).
## fuzz-mongolocal: fuzz the wire-message parser, the dispatcher and the query paths (FUZZTIME each).
FUZZTIME ?= 30s
.PHONY: bench-mongolocal fuzz-mongolocal
bench-mongolocal:
	cd infra && $(GO) test -run '^$$' -bench . -benchtime 2s ./mongolocal/
fuzz-mongolocal:
	cd infra && $(GO) test -run '^$$' -fuzz '^FuzzParseMessage$$' -fuzztime $(FUZZTIME) ./mongolocal/
	cd infra && $(GO) test -run '^$$' -fuzz '^FuzzCommand$$' -fuzztime $(FUZZTIME) ./mongolocal/
	cd infra && $(GO) test -run '^$$' -fuzz '^FuzzQuery$$' -fuzztime $(FUZZTIME) ./mongolocal/

# --- Docker-free local stack (infra/lambdahost/README.md) ---
.PHONY: devstack invoke-local lambdahost

## devstack: until Ctrl-C, mongolocal on 127.0.0.1:27017 and the five functions, built for this
## machine into bin/local/<name>/bootstrap, behind the local Lambda host on 127.0.0.1:3002. Prints
## MONGODB_URI=, MONGODB_DATABASE= and LAMBDA_ENDPOINT= lines; export them and run `make relay`.
## More flags: make devstack DEVSTACK_FLAGS="--concurrency 4 --dbpath bin/local/db"
devstack:
	@$(GO) build -o $(BIN)/devstack ./infra/cmd/devstack
	@exec $(BIN)/devstack $(DEVSTACK_FLAGS)

## invoke-local: send EVENT (a JSON file) to FUNCTION through the local Lambda host of
## `make devstack` (LAMBDA_ENDPOINT, default http://127.0.0.1:3002): `sam local invoke` without Docker.
##   make invoke-local FUNCTION=users EVENT=functions/events/users-update.json
invoke-local:
	@test -n "$(FUNCTION)" || { echo "FUNCTION must name a function, e.g. one of: $(FUNCTIONS)" >&2; exit 2; }
	@$(GO) run ./infra/cmd/invoke --function $(FUNCTION) $(if $(EVENT),--event $(EVENT))

## lambdahost: the local Lambda host alone, for bootstraps you built yourself:
##   make lambdahost LAMBDAHOST_FLAGS="--function users=bin/local/users/bootstrap --env MONGODB_URI=..."
lambdahost:
	@$(GO) build -o $(BIN)/lambdahost ./infra/cmd/lambdahost
	@exec $(BIN)/lambdahost $(LAMBDAHOST_FLAGS)

# --- The functions (functions/README.md) ---
.PHONY: build-functions indexes repair

## build: the five Lambda bootstraps (build-functions).
build: build-functions

## build-functions: bin/functions/<name>/bootstrap for linux/$(ARCH) (ARCH=arm64 default, or amd64),
## static (CGO_ENABLED=0), stripped, without the RPC server (lambda.norpc): what provided.al2023 runs.
build-functions:
	@for fn in $(FUNCTIONS); do \
	  echo "build bin/functions/$$fn/bootstrap (linux/$(ARCH))"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) $(GO) build -trimpath -tags lambda.norpc -ldflags "-s -w" \
	    -o $(BIN)/functions/$$fn/bootstrap ./functions/cmd/$$fn || exit 1; \
	done

## indexes: enable pre- and post-images on the source collections and create the handlers' indexes,
## idempotently. Needs MONGODB_URI (or MONGODB_URI_SECRET_ARN); MONGODB_DATABASE (default conduit).
indexes:
	$(GO) run ./functions/cmd/indexes

## repair: recompute every derived field from the sources and fix what differs, with progress on
## stderr and a per-invariant report. DRY_RUN=1 only reports; REPAIR_FLAGS=--json, --page-size N.
repair:
	$(GO) run ./functions/cmd/repair $(if $(DRY_RUN),--dry-run) $(REPAIR_FLAGS)

# --- The relay (relay/README.md) ---
.PHONY: relay bench-relay

## relay: `relay run` with RELAY_CONFIG (a YAML file, optional) and the environment (MONGODB_URI,
## MONGODB_DATABASE, LAMBDA_ENDPOINT, FUNCTION_PREFIX, ...; see relay/README.md).
relay:
	$(GO) build -o $(BIN)/relay ./relay/cmd/relay
	$(BIN)/relay run $(if $(RELAY_CONFIG),-config $(RELAY_CONFIG))

## bench-relay: the relay's benchmarks (go test -bench) and relaybench: events/s and
## write-to-invocation latency of the default relay vs a naive one, and RSS with a backlog
## (figures in relay/README.md). RELAYBENCH_FLAGS passes flags to relaybench.
bench-relay:
	cd relay && $(GO) test -run '^$$' -bench . -benchtime 2x ./dispatch/ ./internal/bench/
	$(GO) run ./relay/cmd/relaybench $(RELAYBENCH_FLAGS)

# --- The benchmark suite (relay/benchsuite/README.md) ---
.PHONY: bench-go bench-all
BENCH_SCALE ?= full

## bench: floor, naive relay, relay defaults and tuned on the same RealWorld workloads (steady,
## favorite storm, fan-out, 100,000-event backlog) on the Docker-free stack, in one run. Writes
## results/<time>-<scale>/ (report.md, results.json, PNGs, logs); the full scale also refreshes
## results/latest/. BENCH_SCALE=small finishes in a few minutes; BENCH_FLAGS e.g. -configs, -workloads.
bench:
	$(GO) run ./relay/cmd/bench -scale $(BENCH_SCALE) $(BENCH_FLAGS)

## bench-go: the go test -bench variant (BenchmarkPipeline/<workload>/<config>: events/s, p99-ms,
## calls/event), for benchstat: make bench-go > old.txt; ...; make bench-go > new.txt
bench-go:
	cd relay && BENCH_PIPELINE=1 $(GO) test -run '^$$' -bench Pipeline -benchtime 1x -count $(or $(COUNT),1) -timeout 60m ./benchsuite/

## bench-all: bench, then the relay's own benchmarks (bench-relay).
bench-all: bench bench-relay

# --- The demo (e2e/README.md) ---
.PHONY: demo

## demo: the whole pipeline on the Docker-free stack in one command, with only Go: builds everything,
## seeds a RealWorld data set, plays renames, retagging, favorite storms and deletes while the relay
## runs, shows progress, lag and drift, reports convergence time, events and invocations, runs a
## repair dry run (zero drift) and shuts down. DEMO_FLAGS: -users -articles -comments -favorites
## -seed -scale -quick -keep (see e2e/cmd/demo).
demo:
	$(GO) run ./e2e/cmd/demo $(DEMO_FLAGS)

vet:
	$(GO) vet $(addsuffix /...,$(addprefix ./,$(MODULES)))

fmt:
	gofmt -l -w $(MODULES)

clean:
	rm -rf $(BIN) .aws-sam
