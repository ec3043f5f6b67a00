# changerelay: one Makefile for the whole workspace (go.work).
# Targets that need Docker or AWS credentials say so in README.md.

SHELL := /bin/bash
GO ?= go
MODULES := infra functions relay e2e
GOTEST_FLAGS ?= -race -count=1
FUNCTIONS := users articles comments favorites repair
ARCH ?= arm64
BIN := $(CURDIR)/bin

.PHONY: all test test-go test-smoke test-deploy build mongo vet fmt bench clean

all: build

## test: every module's tests with -race, then the second-client smoke test
## and the deploy checks. What CI runs (.ci/run).
test: test-go test-smoke

test-go:
	$(GO) test $(GOTEST_FLAGS) $(addsuffix /...,$(addprefix ./,$(MODULES)))

## test-smoke: pymongo against a fresh mongolocal (infra/smoke).
test-smoke:
	bash infra/smoke/run.sh

## mongo: the embedded MongoDB-compatible server on 127.0.0.1:27017.
mongo:
	$(GO) run ./infra/cmd/mongolocal --addr 127.0.0.1:27017 $(if $(DBPATH),--dbpath $(DBPATH))

vet:
	$(GO) vet $(addsuffix /...,$(addprefix ./,$(MODULES)))

fmt:
	gofmt -l -w $(MODULES)

clean:
	rm -rf $(BIN) .aws-sam
