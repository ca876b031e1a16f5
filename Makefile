SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Every recipe that needs node/pnpm runs setup first and then sources the
# environment it writes (Node 24 and pnpm from .tools when the system has none).
SETUP := scripts/setup.sh
ENV := . .tools/env.sh
# `section NAME CMD...`: runs CMD under a `==> NAME` header and records a
# failure in the `failed` array instead of stopping, so one run reports all.
SECTION = section() { local name="$$1"; shift; printf '\n==> %s\n' "$$name"; \
  if "$$@"; then printf -- '--- %s: passed\n' "$$name"; \
  else printf -- '\033[1;31m--- %s: FAILED\033[0m\n' "$$name" >&2; failed+=("$$name"); fi; }
# The checks of `pnpm lint`, but Prettier runs even when ESLint fails.
LINT_ALL = lint_all() { local rc=0; eslint . || rc=1; prettier --check . || rc=1; return $$rc; }
# Extra arguments for Jest, e.g. `make test ARGS=devkit` or `ARGS='-t sink'`.
ARGS ?=

.PHONY: help setup dev test typecheck lint format bench generate clean

help: ## Show this help
	@echo 'Rudder: self-hostable customer data infrastructure'
	@echo
	@echo 'Usage: make <target>'
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{ printf "  %-10s %s\n", $$1, $$2 }'
	@echo
	@echo 'Start with `make dev` (run everything locally) or `make test` (what CI runs).'

setup: ## Install Node 24 (into .tools if needed), pnpm and deps; SERVICES=1 also redis-server
	@$(SETUP) $(if $(filter 1 yes true,$(SERVICES)),--services)

dev: ## Run Postgres, Redis, a webhook sink and the data plane locally (Ctrl-C stops all)
	@$(SETUP) --services
	@$(ENV) && node devkit/src/dev.ts

test: ## Type-check, lint and run every test (what CI runs)
	@$(SETUP) --services
	@echo '[setup] Kubernetes test binaries (etcd, kube-apiserver, kube-controller-manager, kubectl, kwok, helm): built once from Go modules into ~/.cache/rudder/kube, 20-30 min the first time'
	@scripts/kube-bins.sh >/dev/null
	@$(ENV); $(SECTION); $(LINT_ALL); failed=(); \
	section type-check pnpm -s typecheck; \
	section lint lint_all; \
	section tests pnpm -s test $(if $(ARGS),-- $(ARGS)); \
	if [ $${#failed[@]} -gt 0 ]; then \
	  printf '\n\033[1;31m==> FAILED: %s\033[0m\n' "$${failed[*]}" >&2; exit 1; \
	fi; \
	printf '\n\033[1;32m==> all passed: type-check, lint, tests\033[0m\n'

typecheck: ## Type-check the whole workspace (tsc -b)
	@$(SETUP)
	@$(ENV) && echo '==> type-check' && pnpm -s typecheck

lint: ## ESLint (type-aware) and Prettier --check
	@$(SETUP)
	@$(ENV); $(LINT_ALL); echo '==> lint'; lint_all

format: ## Rewrite files with Prettier
	@$(SETUP)
	@$(ENV) && pnpm -s format

bench: ## Run the benchmarks and print figures
	@$(SETUP) --services
	@scripts/kube-bins.sh >/dev/null
	@$(ENV) && node devkit/src/bench.ts

generate: ## Regenerate code from its source of truth (RudderInstance types and the chart's CRD copies from crds/)
	@$(SETUP)
	@$(ENV) && node devkit/src/gen/crd-types.ts && cp crds/rudder.dev_*.yaml charts/rudder/crds/

clean: ## Remove .data (local databases, Redis data, the dev write key)
	rm -rf .data
