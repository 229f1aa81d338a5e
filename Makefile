# trailpq build. `make` builds the library and the command, `make check` runs
# everything CI runs, `make SANITIZE=address,undefined check` does it under
# ASan and UBSan. Objects go to build/ (build-san/ for sanitized builds).
# `make FAULT=1` builds with fault injection (TPQ_FAULT, src/util/fault.h) but
# without sanitizers, into build-fault/: the crash tests' binary.

CC ?= cc
SANITIZE ?=
FAULT ?=
O ?= build$(if $(SANITIZE),-san,$(if $(FAULT),-fault))

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-unused-parameter -Wvla -Wformat=2
OPT ?= -O2 -g
CPPFLAGS += -Iinclude -Isrc -I. -D_GNU_SOURCE -DTPQ_BUILD=\"$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)\"
CFLAGS ?= $(OPT)
CFLAGS += -std=c17 $(WARN) -pthread -fno-strict-aliasing
ifneq ($(SANITIZE),)
  CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS += -fsanitize=$(SANITIZE)
endif
# The binary the crash tests run with TPQ_FAULT: this build's when it has fault
# injection, else build-fault/trailpq (made by the fault-bin target).
ifneq ($(SANITIZE)$(FAULT),)
  CPPFLAGS += -DTPQ_FAULT_INJECTION=1
  FAULT_BIN := $(O)/trailpq
else
  FAULT_BIN := build-fault/trailpq
endif
# The S3 client's HTTP, XML and hashing libraries, found by pkg-config (Debian 12:
# libcurl4-openssl-dev, libexpat1-dev, libssl-dev); the plain names when it is absent.
NET_LIBS := $(shell pkg-config --libs libcurl expat libcrypto 2>/dev/null || echo -lcurl -lexpat -lcrypto)
NET_CFLAGS := $(shell pkg-config --cflags libcurl expat libcrypto 2>/dev/null)
CPPFLAGS += $(NET_CFLAGS)
LIBS := -lzstd -lsnappy -ldeflate -lz -llz4 $(NET_LIBS) -lm -pthread

LIB_SRC := $(sort $(wildcard src/*/*.c))
CLI_SRC := $(sort $(wildcard cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(O)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
FUZZ_REPLAY := $(FUZZ_SRC:fuzz/%.c=$(O)/fuzz/%_replay)

.PHONY: all check unit interop fuzz-replay clean format bench-tools print-libs fault-bin
all: $(O)/libtrailpq.a $(O)/trailpq trailpq

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(O)/libtrailpq.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/trailpq: $(CLI_OBJ) $(O)/libtrailpq.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(O)/libtrailpq.a $(LIBS)

# A convenience link at the top of the tree to the last plain build.
trailpq: $(O)/trailpq
	@if [ -z "$(SANITIZE)$(FAULT)" ]; then ln -sf $(O)/trailpq trailpq; fi

# The fault-injection binary, for the crash tests in `make interop`.
ifneq ($(SANITIZE)$(FAULT),)
fault-bin: $(FAULT_BIN)
else
fault-bin:
	@$(MAKE) --no-print-directory FAULT=1 O=build-fault build-fault/trailpq
endif

$(O)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(O)/libtrailpq.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libtrailpq.a $(LIBS)

# Each fuzz target also links with a plain main() that replays its corpus.
$(O)/fuzz/%_replay: fuzz/%.c fuzz/replay_main.c $(O)/libtrailpq.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< fuzz/replay_main.c $(O)/libtrailpq.a $(LIBS)

# Micro benchmarks (never part of the tests): `make bench-tools`, then see bench/README.md.
$(O)/bench/%: bench/%.c $(O)/libtrailpq.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libtrailpq.a $(LIBS)

bench-tools: $(O)/bench/bench_writer $(O)/bench/bench_rle $(O)/bench/bench_rowcopy

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do $$t || fail=1; done; exit $$fail

fuzz-replay: $(FUZZ_REPLAY)
	@fail=0; for t in $(FUZZ_REPLAY); do n=$$(basename $$t _replay); \
	  $$t fuzz/corpus/$${n#fuzz_} || fail=1; done; exit $$fail

interop: $(O)/trailpq fault-bin
	TRAILPQ=$(abspath $(O)/trailpq) TRAILPQ_FAULT=$(abspath $(FAULT_BIN)) bash tests/run_interop.sh

# What a program linking build/libtrailpq.a needs (the interop scripts ask for it).
print-libs:
	@echo $(LIBS)

check: all unit fuzz-replay interop
	@echo "make check: all suites passed"

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(wildcard src/*/*.h include/trailpq/*.h)

clean:
	rm -rf build build-san build-fault trailpq

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
