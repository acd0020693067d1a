# The two commands of the README: `make demo` (the main job) and `make test` (the suite).
PYTHON ?= python3
BUILD_DIR := build/inplace

.PHONY: deps native test demo bench typecheck clean

deps:
	$(PYTHON) tools/install_deps.py test

# Compile the Cython cores next to their Python twins (incremental; serialised by a lock so
# parallel builds never share a half-written tree).
native: deps
	mkdir -p build
	flock build/.native.lock sh -c '\
	  $(PYTHON) -m cmake -S . -B $(BUILD_DIR) -G Ninja -DWEBSESSION_INPLACE=ON \
	    -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE=$$($(PYTHON) -c "import sys; print(sys.executable)") >/dev/null && \
	  $(PYTHON) -m cmake --build $(BUILD_DIR)'

test: native
	$(PYTHON) -m mypy
	WEBSESSION_IMPLEMENTATION=c $(PYTHON) -m pytest -q -p no:randomly

demo: deps
	$(PYTHON) -m pip install -q --disable-pip-version-check --no-build-isolation .
	cd /tmp && websession demo

bench: native
	$(PYTHON) -m pytest benchmarks -q --benchmark-only --benchmark-columns=median,mean,ops,rounds

typecheck: deps
	$(PYTHON) -m mypy

clean:
	rm -rf build src/websession/*.so
