# Set-up, demo and tests for lnp_neuro. On a fresh machine `make demo` and `make test`
# are all the set-up there is: both (re)build ./.venv when it is missing or older than
# pyproject.toml.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=23" "setuptools>=64" wheel
	# CPU build of torch; a plain `torch` would pull a CUDA build of several GB.
	$(PIP) install --quiet "torch==2.13.0"
	# Lava's real runtime needs (it declares Python < 3.11, so it is installed --no-deps).
	$(PIP) install --quiet "numpy>=1.24,<2" "scipy>=1.15,<2" "networkx>=3.0" \
	    "asteval>=0.9.31,<0.10" "scikit-learn>=1.5,<2" "nir>=1.0.6" "nirtorch>=1.0" h5py
	# Lava's own runtime needs are asteval and scikit-learn (its networkx<=2.8.7 pin is not
	# needed by the parts we use: the LIF/Sparse/RingBuffer/Monitor CPU simulation).
	$(PIP) install --quiet --no-deps --ignore-requires-python "lava-nc==0.10.0"
	# norse declares torchvision, which drags a CUDA torch; it runs without it.
	$(PIP) install --quiet --no-deps "norse==1.1.0"
	# NeuroBench's metric code, to check ours against it (tests). neurobench declares
	# torchaudio and tonic, which drag a CUDA torch; its metrics import without them.
	# snntorch 1.0 declares no dependencies of its own.
	$(PIP) install --quiet --no-deps "snntorch==1.0.0" "neurobench==2.3.0"
	$(PIP) install --quiet -e ".[test,bench]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lnp-deploy --target loihi-sim --out lnp-out --force

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/simulator.py

clean:
	rm -rf $(VENV) build *.egg-info
