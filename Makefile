# deltacdc build. `make` builds build/deltacdc; `make test` runs every test
# (see README). Dependencies come from Debian packages through pkg-config.

CC      ?= cc
PKGS    := libzstd snappy zlib liblz4 libbrotlidec libbrotlienc rdkafka yaml-0.1 libcurl libcrypto \
           libmicrohttpd libmariadb
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
# libroaring (Delta deletion vectors): Debian's libroaring-dev 0.2.x ships no
# roaring.pc, so fall back to plain -lroaring when pkg-config does not know it.
PKG_CFLAGS += $(shell pkg-config --cflags roaring 2>/dev/null)
PKG_LIBS   += $(shell pkg-config --libs roaring 2>/dev/null || echo -lroaring)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(CFLAGS) $(PKG_CFLAGS)
LDLIBS  := $(PKG_LIBS) -lm -pthread

# Sanitizer build: every arena object is its own malloc so ASan sees it.
SAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer -DDC_DEBUG -DDC_ARENA_PASSTHROUGH

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*/test_*.c)) tests/test_main.c
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
HDRS     := $(wildcard src/*/*.h) tests/test.h

B  := build
BS := build-san

.PHONY: all test unit unit-san interop fuzz-replay fuzz-build-libfuzzer lint clean setup docs tsan

all: $(B)/deltacdc

define objs
$(patsubst %.c,$(1)/obj/%.o,$(2))
endef

# V=1 shows the full compiler command lines.
Q := $(if $(V),,@)

$(B)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<",true)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BS)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-SAN  $<",true)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_CFLAGS) -c $< -o $@

$(B)/libdeltacdc.a: $(call objs,$(B),$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BS)/libdeltacdc.a: $(call objs,$(BS),$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(B)/deltacdc: $(call objs,$(B),$(CLI_SRC)) $(B)/libdeltacdc.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BS)/deltacdc: $(call objs,$(BS),$(CLI_SRC)) $(BS)/libdeltacdc.a
	$(CC) $(ALL_CFLAGS) $(SAN_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/unit_tests: $(call objs,$(B),$(TEST_SRC)) $(B)/libdeltacdc.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BS)/unit_tests: $(call objs,$(BS),$(TEST_SRC)) $(BS)/libdeltacdc.a
	$(CC) $(ALL_CFLAGS) $(SAN_CFLAGS) -o $@ $^ $(LDLIBS)

# Fuzz targets with the standalone driver (replays corpora; no libFuzzer needed).
$(BS)/fuzz/%: fuzz/%.c fuzz/driver.c $(BS)/libdeltacdc.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_CFLAGS) -o $@ $< fuzz/driver.c $(BS)/libdeltacdc.a $(LDLIBS)

# ThreadSanitizer build of the daemon (issue 13: the maintenance thread beside
# the ingest thread). `make tsan` builds build-tsan/deltacdc; run interop tests
# against it with DC_BIN=build-tsan/deltacdc (a race aborts it: halt_on_error).
TS := build-tsan
TSAN_CFLAGS := -O1 -g -fsanitize=thread -fno-omit-frame-pointer -DDC_DEBUG

$(TS)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-TSAN $<",true)
	$(Q)$(CC) $(ALL_CFLAGS) $(TSAN_CFLAGS) -c $< -o $@

$(TS)/libdeltacdc.a: $(call objs,$(TS),$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(TS)/deltacdc: $(call objs,$(TS),$(CLI_SRC)) $(TS)/libdeltacdc.a
	$(CC) $(ALL_CFLAGS) $(TSAN_CFLAGS) -o $@ $^ $(LDLIBS)

tsan: $(TS)/deltacdc

FUZZERS := $(patsubst fuzz/%.c,%,$(FUZZ_SRC))

unit: $(B)/unit_tests
	$(B)/unit_tests

unit-san: $(BS)/unit_tests
	UBSAN_OPTIONS=print_stacktrace=1 $(BS)/unit_tests

fuzz-replay: $(addprefix $(BS)/fuzz/,$(FUZZERS))
	@set -e; for f in $(FUZZERS); do \
	  $(BS)/fuzz/$$f fuzz/corpus/$$f; \
	done

# Real coverage-guided fuzzing with clang's libFuzzer: make fuzz-libfuzzer FUZZER=fuzz_pq_footer
LF := build-libfuzzer
fuzz-libfuzzer:
	@mkdir -p $(LF)
	$(MAKE) CC=clang B=$(LF) CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -DDC_ARENA_PASSTHROUGH" $(LF)/libdeltacdc.a
	clang -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) \
	  -o $(LF)/$(FUZZER) fuzz/$(FUZZER).c $(LF)/libdeltacdc.a $(LDLIBS)

interop: $(B)/deltacdc
	.venv/bin/python -m pytest -q tests/interop

# Layering (STYLE.md): every module may include only the modules listed for
# it in scripts/lint-layers.sh; a new module must be placed there.
lint:
	@./scripts/lint-layers.sh

test: lint
	./scripts/test.sh

setup:
	./scripts/setup.sh

# The configuration reference and the example pipeline file are generated from
# src/config/config_table.c (tests/interop/test_config.py checks they are current).
docs: $(B)/deltacdc
	$(B)/deltacdc config reference > docs/CONFIGURATION.md
	$(B)/deltacdc config example > examples/pipeline.yaml

clean:
	rm -rf $(B) $(BS) $(LF) $(TS)
