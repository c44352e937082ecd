# Thin wrapper over meson so the README's two commands stay short.
BUILD ?= build
PYTHON ?= /usr/bin/python3
MESON_OPTS ?=

.PHONY: all build deps test unit integration quickstart format format-check lint clean asan cleanup-check

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

test: format-check cleanup-check lint unit integration

cleanup-check:
	./scripts/check-cleanup-gotos.sh

quickstart: build
	./scripts/quickstart.sh $(BUILD)

asan:
	$(MAKE) BUILD=build-asan MESON_OPTS="-Db_sanitize=address,undefined -Db_lundef=false" test

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

# Static analysis of src/ (not part of `make test`): cppcheck must report nothing.
# cppcheck does not model __attribute__((cleanup)), so its leak checks would flag every
# _cleanup_ variable; leaks are LeakSanitizer's job (`make asan`).
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--std=c11 --inline-suppr -D_GNU_SOURCE -Isrc --suppress=missingIncludeSystem \
		--suppress=resourceLeak --suppress=memleak --suppress=leakNoVarFunctionCall src/

clean:
	rm -rf $(BUILD) build-asan
