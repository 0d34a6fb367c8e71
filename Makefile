# uvhost: the three verbs users need. Everything else is CMake and ctest.
#   make         build everything (daemon at build/host/uvhostd)
#   make check   install what is missing, build, run every test through ctest
#   make demo    install what is missing, build, then: a guest served by the service VM
#                through uvhost-gw, the service VM alone, and uvhostd serving QEMU
BUILD  ?= build/host
VMBUILD ?= build/aarch64
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all setup configure check demo format lint clean

all: configure
	cmake --build $(BUILD) -j$(JOBS)
	@if command -v aarch64-linux-gnu-gcc >/dev/null && test -f cmake/aarch64-picolibc.cmake; then \
	  test -f $(VMBUILD)/CMakeCache.txt || cmake --preset aarch64; \
	  cmake --build $(VMBUILD) -j$(JOBS); \
	else echo "aarch64-linux-gnu-gcc missing: run make setup to build the service VM"; fi
	@if command -v arm-none-eabi-gcc >/dev/null && test -f cmake/arm32.cmake; then \
	  for p in arm32 arm32-picolibc; do \
	    test -f build/$$p/CMakeCache.txt || cmake --preset $$p || exit 1; \
	    cmake --build build/$$p -j$(JOBS) || exit 1; \
	  done; \
	else echo "arm-none-eabi-gcc missing: run make setup to build the arm32 service VM"; fi
	@test -f build/host32/CMakeCache.txt || cmake --preset host32
	cmake --build build/host32 -j$(JOBS)

setup:
	./scripts/setup.sh

configure:
	@test -f $(BUILD)/CMakeCache.txt || cmake --preset host

check: setup all
	cd $(BUILD) && ctest --output-on-failure -j2 --timeout 600

demo: setup all
	@echo "== 1. An unmodified Linux guest whose disk lives in the bare-metal service VM (uvhost-gw) =="
	python3 tests/interop/run_interop.py blk --backend gateway --uvhostd $(BUILD)/uvhostd \
	  --gw $(BUILD)/uvhost-gw --vm-image $(VMBUILD)/uvhost.elf --demo
	@echo "== 2. The service VM on its own: 64 regions, churn and verified I/O over vsock =="
	python3 tests/system/run_system.py --demo --image $(VMBUILD)/uvhost.elf --uvhostd $(BUILD)/uvhostd
	@echo "== 3. The same library as a Linux daemon: uvhostd serving QEMU directly =="
	python3 tests/interop/run_interop.py blk --backend uvhostd --uvhostd $(BUILD)/uvhostd --demo

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	./tests/lint.sh cppcheck
	./tests/lint.sh format

clean:
	rm -rf build/host build/host32 build/aarch64 build/arm32 build/arm32-picolibc
