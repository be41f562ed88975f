# Starling's two commands: `make run` runs the whole pipeline on the sample feed,
# `make test` runs every test. Both install what they need first (see `make deps`).

SHELL := /bin/bash
GO ?= go
BIN := bin/starling
BENCH_BIN := bin/starling-bench
WEB := dashboard/web
SCREENSHOTS ?= $(CURDIR)/test-output/screenshots
# Debian/Ubuntu packages the tests and `make run` use.
DEB_PACKAGES := clickhouse-server clickhouse-client chromium fonts-noto-color-emoji fonts-wqy-zenhei kcat python3-kafka python3-snappy python3-lz4 zookeeper

.PHONY: run test deps web build bench-tools compose-up compose-test clean sample-data

## run: build everything and run the whole pipeline on the sample feed (dashboard on :8080)
run: deps-run web build
	$(BIN) up

## test: install test dependencies, build the dashboard bundle, run all Go tests
test: deps web
	@mkdir -p $(SCREENSHOTS)
	STARLING_SCREENSHOTS=$(SCREENSHOTS) $(GO) test -count=1 -timeout 30m ./...
	# The broker's consumer groups under the race detector: group state is shared by every
	# member's connection.
	$(GO) test -race -count=1 -timeout 10m -run 'Group|Rebalance|Committed|Sarama' ./broker/

## build: the starling binary (needs the dashboard bundle: `make web`)
build:
	$(GO) build -o $(BIN) ./cmd/starling

## bench-tools: the starling binary and starling-bench beside it (`bin/starling bench …`
## runs it; the benchmarks' clients and browser driver live only there)
bench-tools: web build
	$(GO) build -o $(BENCH_BIN) ./cmd/starling-bench

## web: bundle the dashboard's JavaScript (ECharts + word cloud) for embedding
web: $(WEB)/node_modules/.package-lock.json
	npm --prefix $(WEB) run build

$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	npm --prefix $(WEB) ci --no-audit --no-fund

## deps: install the Debian packages the tests need (ClickHouse, ZooKeeper, Chromium, kcat, kafka-python) when missing
deps:
	@missing=(); for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing+=($$p); done; \
	if [ $${#missing[@]} -gt 0 ]; then \
	  echo "installing $${missing[*]}"; \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq "$${missing[@]}" >/dev/null; \
	fi

# `make run` needs only ClickHouse on PATH, and only when no ClickHouse address is given.
deps-run:
	@if [ -z "$$STARLING_CLICKHOUSE_ADDR" ] && ! command -v clickhouse-server >/dev/null && ! command -v clickhouse >/dev/null; then \
	  $(MAKE) --no-print-directory deps DEB_PACKAGES="clickhouse-server clickhouse-client"; fi

## sample-data: regenerate the committed sample feed (deterministic)
sample-data:
	$(GO) run ./sample-data/cmd/genfeed -seed 1 -o sample-data/tweets-v1.1.jsonl.gz

## compose-test: bring the docker compose stack up, wait for tweets in the warehouse and
## the dashboard API, tear it down
compose-test:
	deployments/compose-test.sh

clean:
	rm -rf bin test-output $(WEB)/dist/*.js $(WEB)/dist/*.css $(WEB)/node_modules
