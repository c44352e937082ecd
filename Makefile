# Thin wrapper over meson so the README's two commands stay short.
BUILD ?= build
PYTHON ?= /usr/bin/python3
MESON_OPTS ?=

.PHONY: all build deps test unit integration quickstart format format-check clean asan

all: build

deps:
	./scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

unit: build
	meson test -C $(BUILD) --print-errorlogs

integration: build
	BERTH_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q tests/integration

test: format-check unit integration

quickstart: build
	./scripts/quickstart.sh $(BUILD)

asan:
	$(MAKE) BUILD=build-asan MESON_OPTS="-Db_sanitize=address,undefined -Db_lundef=false" test

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan
