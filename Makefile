# trustforge: `make run` starts the console, `make test` runs every test,
# `make bench` prints the figures quoted in README.md.

GO        ?= go
ADDR      ?= 127.0.0.1:8080
DATA      ?= ./data
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X trustforge/internal/version.Version=$(VERSION)
WASM_EXEC := $(shell $(GO) env GOROOT)/lib/wasm/go_js_wasm_exec
VERSITYGW ?= v1.8.0
# axe-core, the accessibility engine the browser tests run on every page
# (e2e/a11y_test.go), installed by test-deps outside git.
AXE_VERSION := 4.14.1
AXE_DIR     := $(CURDIR)/.cache/axe
# Where make screenshots writes its PNGs (not committed).
SHOTS     ?= $(CURDIR)/screenshots
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The console is compiled without inlining outside the packages whose speed
# matters in the browser (crypto, the runtime, board protocols): UI and
# framework code then compresses about 8 % smaller, which is what a browser
# downloads. Within crypto, what runs once per key, certificate or file
# rather than per block is left without inlining too (the later -gcflags
# pattern wins): parsing and building certificates (crypto/x509,
# encoding/asn1, golang.org/x/crypto/cryptobyte, math/big), the wrappers over
# the FIPS module's ECDSA and RSA, age's header code and HPKE (age's stream
# keeps inlining) and our own crypto packages other than those a publish
# streams an image through (bundle, mcuimg, engine); so is what net/http
# brings in (vendor/...) and number formatting, GODEBUG and fmt's map
# sorting from internal/ (34 KB less brotli; docs/performance-history.md, console size).
WASM_GCFLAGS := -gcflags=all=-l -gcflags=runtime= -gcflags=internal/...= -gcflags=crypto/...= \
	-gcflags=golang.org/x/crypto/...= -gcflags=filippo.io/...= -gcflags=math/...= \
	-gcflags=encoding/binary= -gcflags=hash/...= -gcflags=sync/...= -gcflags=bytes= \
	-gcflags=strings= -gcflags=unicode/...= -gcflags=trustforge/devices/...= \
	-gcflags=crypto/x509=-l -gcflags=crypto/x509/pkix=-l -gcflags=encoding/asn1=-l -gcflags=math/big=-l \
	-gcflags=crypto/ecdsa=-l -gcflags=crypto/elliptic=-l -gcflags=crypto/rsa=-l \
	-gcflags=filippo.io/age=-l -gcflags=filippo.io/age/internal/format=-l -gcflags=filippo.io/age/internal/bech32=-l \
	-gcflags=filippo.io/hpke/...=-l -gcflags=golang.org/x/crypto/cryptobyte/...=-l -gcflags=vendor/...=-l \
	-gcflags=internal/strconv=-l -gcflags=internal/bisect=-l -gcflags=internal/godebug=-l -gcflags=internal/fmtsort=-l \
	-gcflags=trustforge/crypto/bundle= -gcflags=trustforge/crypto/mcuimg= -gcflags=trustforge/crypto/engine/...=
# Packages whose tests also run as WebAssembly, as the browser runs them.
WASM_PKGS ?= ./crypto/... ./internal/cbor/... ./devices/esprom/... ./internal/blocks/... ./internal/browser/... ./internal/stride/... ./wasm/mastering/... ./wasm/station/... ./wasm/release/... ./wasm/storage/... ./devices/fwupdate/... ./devices/dfu ./wasm/updateflow/... ./wasm/updatelog/... ./wasm/link

.PHONY: all run server wasm test test-deps test-native test-wasm test-scaled vet bench screenshots clean

all: server wasm

server:
	$(GO) build -trimpath -ldflags="$(LDFLAGS)" -o bin/trustforge ./server/cmd/trustforge

# The console. app.wasm is replaced only when its bytes change, so the
# brotli and gzip copies are remade only when needed.
wasm: server
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="$(LDFLAGS)" $(WASM_GCFLAGS) -o web/app.wasm.new ./wasm
	$(GO) run ./internal/cmd/wasmpack -names bin/app.wasm.names web/app.wasm.new
	@if cmp -s web/app.wasm.new web/app.wasm; then rm web/app.wasm.new; else mv web/app.wasm.new web/app.wasm; fi
	bin/trustforge precompress web/app.wasm

run: server wasm
	bin/trustforge serve --addr $(ADDR) --data $(DATA) --demo-board

# What the tests need on a fresh Debian machine with Go: Chromium for the
# end-to-end tests, OpenSSL to cross-check certificate chains, Node.js to run
# WebAssembly tests, PostgreSQL and versitygw (an S3 server) for the
# scaled-out store; tests start and stop their own instances of both
# (internal/testsvc).
test-deps:
	@if [ ! -x /usr/bin/chromium ] && ! command -v chromium >/dev/null 2>&1; then \
		echo "make: installing chromium from Debian"; \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi
	@if ! command -v openssl >/dev/null 2>&1; then \
		echo "make: installing openssl from Debian"; \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y openssl; \
	fi
	@if ! command -v node >/dev/null 2>&1; then \
		echo "make: installing nodejs from Debian"; \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs; \
	fi
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
		echo "make: installing postgresql from Debian"; \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; \
	fi
	@if ! command -v versitygw >/dev/null 2>&1 && [ ! -x "$$($(GO) env GOPATH)/bin/versitygw" ]; then \
		echo "make: installing versitygw $(VERSITYGW) (S3 server for the tests)"; \
		$(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW); \
	fi
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "make: installing npm from Debian (e2e/esptooljs fetches esptool-js with it)"; \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y npm; \
	fi
	@if [ ! -f $(AXE_DIR)/node_modules/axe-core/axe.min.js ]; then \
		if ! command -v npm >/dev/null 2>&1; then \
			echo "make: installing npm from Debian"; \
			$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y npm; \
		fi; \
		echo "make: installing axe-core $(AXE_VERSION) with npm into $(AXE_DIR)"; \
		npm install --no-audit --no-fund --prefix $(AXE_DIR) axe-core@$(AXE_VERSION); \
	fi

vet:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./wasm/... ./devices/webserial ./devices/webusb ./devices/wsboard $(WASM_PKGS)

# A full-page PNG of every page, for every role, empty and populated, in
# $(SHOTS): the whole console in one folder for a reviewer.
screenshots: test-deps wasm
	mkdir -p $(SHOTS) && rm -f $(SHOTS)/*.png
	TRUSTFORGE_SCREENSHOTS=$(SHOTS) $(GO) test -count=1 -timeout 30m -run '^TestScreenshots$$' ./e2e/
	@echo "screenshots in $(SHOTS)"

# Unit, fuzz-seed-corpus and end-to-end tests (e2e drives the console in
# headless Chromium against the real server).
test-native:
	TRUSTFORGE_REQUIRE_SERVICES=1 $(GO) test -count=1 -timeout 45m ./...

test-wasm:
	GOOS=js GOARCH=wasm $(GO) test -count=1 -timeout 20m -exec="$(WASM_EXEC)" $(WASM_PKGS)

# The whole API test suite and the e2e release flow once more on the
# scaled-out back end (PostgreSQL and versitygw, started by the tests).
test-scaled:
	TRUSTFORGE_REQUIRE_SERVICES=1 TRUSTFORGE_API_SCALED=1 $(GO) test -count=1 -timeout 20m ./server/api/
	TRUSTFORGE_REQUIRE_SERVICES=1 TRUSTFORGE_E2E_SCALED=1 $(GO) test -count=1 -timeout 20m -run '^TestEngineerPublishesTechnicianOpens$$' ./e2e/

test: test-deps wasm vet test-native test-wasm test-scaled

bench: test-deps wasm
	@echo "== console: where app.wasm's bytes go (a copy linked with its name section) =="
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="-w -X trustforge/internal/version.Version=$(VERSION)" $(WASM_GCFLAGS) -o bin/app-names.wasm ./wasm
	$(GO) run ./internal/cmd/wasmpack bin/app-names.wasm
	GOOS=js GOARCH=wasm $(GO) list -deps ./wasm > bin/app-deps.txt
	$(GO) run ./internal/cmd/wasmsize -pkgs bin/app-deps.txt -top 25 bin/app-names.wasm
	@echo "== console: the floor, a go-app page with nothing else, linked, packed and compressed as app.wasm is =="
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="$(LDFLAGS)" $(WASM_GCFLAGS) -o bin/floor.wasm ./internal/wasmsize/testdata/goappfloor
	$(GO) run ./internal/cmd/wasmpack -names bin/floor.wasm.names bin/floor.wasm
	bin/trustforge precompress bin/floor.wasm
	@echo "== console: app.wasm size, navigation to first render, a newcomer's actions to a flashed board (headless Chromium) =="
	$(GO) test -run '^$$' -bench . -benchtime 1x ./e2e/
	@echo "== MCUboot images: sign, verify, encrypt (native, then WebAssembly) =="
	$(GO) test -run '^$$' -bench . ./crypto/mcuimg/
	GOOS=js GOARCH=wasm $(GO) test -run '^$$' -bench . -exec="$(WASM_EXEC)" ./crypto/mcuimg/
	@echo "== key vault: unlocking without freezing the page (scrypt's longest slice as WebAssembly) =="
	GOOS=js GOARCH=wasm $(GO) test -run '^$$' -bench UnlockSlices -benchtime 1x -exec="$(WASM_EXEC)" ./crypto/vault/
	@echo "== release bundles: create and open (native, then WebAssembly) =="
	$(GO) test -run '^$$' -bench . -benchtime 3x ./crypto/bundle/
	GOOS=js GOARCH=wasm $(GO) test -run '^$$' -bench . -benchtime 3x -exec="$(WASM_EXEC)" ./crypto/bundle/
	@echo "== boards: 256 KiB upload through boardsim on a paced pty, against stop-and-wait clients =="
	$(GO) test -run '^$$' -bench Upload -benchtime 1x ./devices/sim/
	@echo "== USB DFU: 1 MiB download through the DfuSe and Zephyr DFU simulators, against their poll-timeout ceiling =="
	$(GO) test -run '^$$' -bench DFUDownload -benchtime 1x ./devices/sim/
	@echo "== ESP32-C3: 1 MiB app through the simulated ROM loader on a paced pty, deflate and plain, 115200 and 921600 baud =="
	$(GO) test -run '^$$' -bench ESPFlash -benchtime 1x -timeout 30m ./devices/sim/
	@echo "== identity: certificate issuance (native, WebAssembly) and provisioning per board at 1 Mbaud =="
	$(GO) test -run '^$$' -bench . -benchtime 50x ./crypto/pki/
	GOOS=js GOARCH=wasm $(GO) test -run '^$$' -bench Provisioning -benchtime 100x -exec="$(WASM_EXEC)" ./crypto/pki/
	$(GO) test -run '^$$' -bench Provision -benchtime 20x ./devices/provision/
	$(GO) test -run '^$$' -bench ProvisionBrowser -benchtime 8x ./e2e/
	@echo "== production: packages (native, WebAssembly), counted tickets, one board through a station =="
	$(GO) test -run '^$$' -bench . ./crypto/production/
	GOOS=js GOARCH=wasm $(GO) test -run '^$$' -bench . -exec="$(WASM_EXEC)" ./crypto/production/
	$(GO) test -run '^$$' -bench TakeTicket -benchtime 200x ./server/api/
	@echo "== a product's summary with 10,000 releases and 100,000 devices =="
	$(GO) test -run '^$$' -bench ProductSummary -benchtime 3x ./server/api/
	$(GO) test -run '^$$' -bench Program -benchtime 20x ./wasm/station/
	@echo "== release server: upload/download throughput, peak RSS, 100 concurrent downloads =="
	$(GO) run ./server/cmd/releasebench
	$(GO) test -run '^$$' -bench '^Benchmark(Publish|Download)$$' -benchtime 5x ./server/api/
	@echo "== scaled out: 100 concurrent 16 MiB downloads via 2 instances on S3 vs 1 on the blob directory vs versitygw direct; tickets with 3 instances on PostgreSQL =="
	$(GO) test -run '^$$' -bench ScaleOutDownloads -benchtime 1x -timeout 20m ./server/api/
	$(GO) test -run '^$$' -bench ScaleOutTickets -benchtime 2000x -timeout 20m ./server/api/

clean:
	rm -rf bin web/app.wasm web/app.wasm.br web/app.wasm.gz web/app.wasm.new
