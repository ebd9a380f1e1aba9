# connrecon — see README.md.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.buildVersion=$(VERSION)
BIN     := bin/connrecon
# Every package but internal/graph and cmd: none links the Graph SDK (a
# test in internal/reconcile checks), so they build and test in seconds.
LIGHT   = $(shell $(GO) list ./... | grep -v -e "/internal/graph$$" -e "/cmd/")

.PHONY: all build test test-light demo bench lint clean

all: lint test build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/connrecon

# Everything, with the race detector. The first run on a new machine
# compiles the Graph SDK (about 6 minutes, 10 GB of memory); later runs
# take seconds.
test:
	$(GO) test -race -count=1 ./...

# The packages that do not link the SDK, without the tests that build
# huge files (-short): a quick loop while editing.
test-light:
	$(GO) test -race -short -count=1 $(LIGHT)

demo: build
	./$(BIN) demo --report-dir demo-report

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Each fuzzer of outside input (the mapping readers, a token's claims, the
# export read back) for a
# bounded time: no input may make them panic. Inputs that fail are kept in
# the package's testdata/fuzz/ and replayed by every go test run after that.
FUZZTIME ?= 20s
.PHONY: fuzz
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseCSV$$' -fuzztime $(FUZZTIME) ./internal/mapping/
	$(GO) test -run '^$$' -fuzz '^FuzzReadXLSX$$' -fuzztime $(FUZZTIME) ./internal/mapping/
	$(GO) test -run '^$$' -fuzz '^FuzzWriteCSV$$' -fuzztime $(FUZZTIME) ./internal/mapping/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/claims/
	$(GO) test -run '^$$' -fuzz '^FuzzExportRoundTrip$$' -fuzztime $(FUZZTIME) ./internal/reconcile/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin demo-report connrecon-reports

# The container image for samples/k8s-cronjob.yaml (README.md, "Running
# unattended"), built offline: a static binary, this machine's CA bundle
# and a passwd naming user 65532, put on an empty base (FROM scratch) by
# Dockerfile from the context bin/image/. Needs podman, buildah or docker
# (CONTAINER=...); not part of make test.
CONTAINER ?= podman
IMAGE     ?= connrecon
IMAGE_TAG ?= $(VERSION)
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
IMAGE_CTX := bin/image
.PHONY: image
image:
	@test -s $(CA_BUNDLE) || { echo "no CA bundle at $(CA_BUNDLE): install ca-certificates or set CA_BUNDLE=FILE"; exit 1; }
	rm -rf $(IMAGE_CTX)
	mkdir -p $(IMAGE_CTX)/empty
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(IMAGE_CTX)/connrecon ./cmd/connrecon
	install -m 0644 $(CA_BUNDLE) $(IMAGE_CTX)/ca-certificates.crt
	printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/tmp:/sbin/nologin\n' > $(IMAGE_CTX)/passwd
	printf 'root:x:0:\nnonroot:x:65532:\n' > $(IMAGE_CTX)/group
	$(CONTAINER) build --build-arg VERSION=$(VERSION) -f Dockerfile \
		-t $(IMAGE):$(IMAGE_TAG) -t $(IMAGE):latest $(IMAGE_CTX)
