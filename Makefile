# Kubetink Makefile. `make help` lists the targets.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
export GOTOOLCHAIN := local

# Versions of the real parts the tests run against (all built from Go modules, cached in TESTENV_DIR).
KUBE_VERSION ?= v1.37.2
ETCD_VERSION ?= v3.6.16
TESTENV_DIR ?= $(CURDIR)/bin/testenv
export KUBE_VERSION ETCD_VERSION TESTENV_DIR

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/kubetink/kubetink/internal/version.Version=$(VERSION)
GO_BUILD := CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)"
CONTROLLER_GEN := go tool -modfile=hack/tools/go.mod controller-gen
# golangci-lint with the Kube API Linter, pinned in hack/lint/go.mod and built once per version into TESTENV_DIR.
GOLANGCI_LINT_VERSION := $(shell awk '$$1 == "github.com/golangci/golangci-lint/v2" && NF > 1 { print $$2 }' hack/lint/go.mod)
KAL_VERSION := $(shell awk '$$1 == "sigs.k8s.io/kube-api-linter" && NF > 1 { print $$2 }' hack/lint/go.mod)
GOLANGCI_LINT := $(TESTENV_DIR)/golangci-lint-$(GOLANGCI_LINT_VERSION)-kal-$(KAL_VERSION)
LINT_ARGS ?=
GO_TEST_ARGS ?=

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z0-9_-]+:.*##/ { printf "  %-16s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: ## Generate deepcopy code.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: manifests
manifests: ## Generate the CRD and RBAC manifests.
	$(CONTROLLER_GEN) rbac:roleName=kubetink-manager crd paths="./..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: fmt
fmt: ## Run gofmt.
	gofmt -l -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet (the operator's module and test/charts).
	go vet ./...
	cd test/charts && go vet ./...

.PHONY: tidy
tidy: ## Tidy go.mod (the operator's module and test/charts).
	go mod tidy
	cd test/charts && go mod tidy

.PHONY: verify
verify: generate manifests fmt ## Fail when generated files or formatting are stale.
	@git diff --exit-code -- api config ':!config/samples' || { echo "generated files are stale: run make generate manifests fmt and commit"; exit 1; }
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed"; exit 1; }

# golangci-lint lints one module per run: test/charts, its own module, gets a second run with the same
# configuration (its paths stay relative to .golangci.yml).
.PHONY: lint
lint: golangci-lint ## Run golangci-lint with the Kube API Linter (.golangci.yml).
	$(GOLANGCI_LINT) run $(LINT_ARGS)
	cd test/charts && $(GOLANGCI_LINT) run --config ../../.golangci.yml $(LINT_ARGS)

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint and apply the fixes it can make.
	$(GOLANGCI_LINT) run --fix $(LINT_ARGS)
	cd test/charts && $(GOLANGCI_LINT) run --config ../../.golangci.yml --fix $(LINT_ARGS)

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Build (once) golangci-lint with the Kube API Linter from hack/lint/go.mod into TESTENV_DIR.

# The versioned file name is the cache key, so a fresh clone reuses the binary (no go.mod prerequisite, whose
# checkout time would force a rebuild); the temporary name keeps an interrupted build out of the cache.
$(GOLANGCI_LINT):
	@mkdir -p "$(@D)"
	cd hack/lint && CGO_ENABLED=0 go build -trimpath -o "$(abspath $@).tmp" sigs.k8s.io/kube-api-linter/cmd/golangci-lint-kube-api-linter
	mv "$(abspath $@).tmp" "$(abspath $@)"

##@ Test

.PHONY: testenv
testenv: ## Build (once) kube-apiserver and etcd from Go modules into TESTENV_DIR.
	hack/testenv.sh control-plane

.PHONY: flux-crds
flux-crds: ## Copy the CRDs of the pinned Flux controllers out of their Go modules into TESTENV_DIR.
	hack/testenv.sh flux-crds

# The real test control plane and the Flux CRDs, for every target that runs tests.
TEST_ENV = KUBEBUILDER_ASSETS="$$(hack/testenv.sh control-plane)" FLUX_CRDS="$$(hack/testenv.sh flux-crds)"

# test/charts is its own module (Helm's Go SDK stays out of go.mod): it templates the real upstream charts of every
# release in the catalog from ../shared/upstream/charts, or from $$UPSTREAM_CHARTS_DIR in a checkout elsewhere.
.PHONY: test
test: generate manifests vet ## Run all tests: against a real kube-apiserver and etcd, and against the real upstream charts.
	$(TEST_ENV) go test $$(go list ./... | grep -v /test/e2e) $(GO_TEST_ARGS) -coverprofile cover.out
	cd test/charts && go test ./... $(GO_TEST_ARGS)

.PHONY: bench
bench: ## Run the benchmarks (but the migration harness: make bench-migrate).
	$(TEST_ENV) go test -run '^$$' -bench . -benchmem $$(go list ./... | grep -v -e /test/e2e -e /test/migrationscale)

# The migration harness migrates and restores MIGRATE_OBJECTS objects MIGRATE_RUNS times, each on a fresh control
# plane (about three minutes a run for 10 000 objects on 2 cores). MIGRATE_KUBETINK measures a binary built
# elsewhere, MIGRATE_ARGS adds flags to kubetink migrate.
MIGRATE_OBJECTS ?= 10000
MIGRATE_RUNS ?= 3

.PHONY: bench-migrate
bench-migrate: ## Measure kubetink migrate and its restore on a fleet of 10 000 objects (test/migrationscale).
	KUBEBUILDER_ASSETS="$$(hack/testenv.sh control-plane)" MIGRATE_OBJECTS=$(MIGRATE_OBJECTS) MIGRATE_RUNS=$(MIGRATE_RUNS) \
		go test -run '^$$' -bench . -benchtime=1x -timeout 60m ./test/migrationscale/

##@ Build

.PHONY: build
build: ## Build bin/kubetink (static, version-stamped; the Dockerfile uses the same target).
	$(GO_BUILD) -o bin/kubetink ./cmd/kubetink

.PHONY: run
run: build ## Run the manager against the current kubeconfig.
	bin/kubetink manager

##@ End to end

# The Tinkerbell releases whose real binary runs in the e2e tests and the demo (the module proxy serves no older).
TINKERBELL_VERSIONS ?= v0.24.0 v0.25.0
# The control plane, kube-controller-manager and kube-scheduler, the real Flux controllers and the real Tinkerbell
# binaries (each built once from Go modules, cached in TESTENV_DIR).
E2E_ENV = KUBEBUILDER_ASSETS="$$(hack/testenv.sh control-plane)" CLUSTER_DIR="$$(hack/testenv.sh cluster)" FLUX_DIR="$$(hack/testenv.sh flux)" KUBETINK="$(CURDIR)/bin/kubetink" \
	TINKERBELL_BINARIES="$$(for v in $(TINKERBELL_VERSIONS); do printf '%s=%s/tinkerbell ' $$v "$$(hack/testenv.sh tinkerbell $$v)"; done)"
E2E_WORK_DIR ?= $(CURDIR)/bin/e2e
E2E_TEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: test-e2e
test-e2e: build ## Prove the GitOps loop end to end: real Flux controllers, charts and Tinkerbell on a cluster without containers.
	$(E2E_ENV) E2E_WORK_DIR="$(E2E_WORK_DIR)" go test -tags e2e -count=1 -timeout 20m -v ./test/e2e/... $(E2E_TEST_ARGS)

.PHONY: demo
demo: build ## Run the local GitOps stack with examples/ and the real Tinkerbell; Ctrl-C stops it.
	go build -o bin/kubetink-demo ./test/e2e/cmd/demo
	$(E2E_ENV) exec bin/kubetink-demo $(DEMO_ARGS)
