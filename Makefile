# Two commands set everything up on a fresh machine:
#   make demo   - create .venv, install what colorizing needs (no TensorFlow: the bundled models run on
#                 LiteRT), colorize a true black-and-white photo with the default model
#   make test   - create .venv if needed, install everything (training extras and test tools), run the tests
#                 (make test-fast: without the tests marked slow)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BASE := $(VENV)/.installed-base
INSTALLED := $(VENV)/.installed
SAMPLE := data/samples/camera.png

.PHONY: demo test test-fast install bench gallery zoo study clean

# the light install: `pip install .` (what `colorize photo.jpg`, video and `colorize models` need)
$(BASE): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

# everything: TensorFlow for train/export/.keras models, and the test tools
$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[train,test]"
	touch $(BASE) $@

install: $(INSTALLED)

# the sample is committed (scikit-image's true black-and-white `camera`); restored if deleted
$(SAMPLE):
	git checkout -- $@

demo: $(BASE) $(SAMPLE)
	$(VENV)/bin/colorize $(SAMPLE) --overwrite
	@echo "Colorized photo: $(abspath data/samples/camera_color.png)"

test: $(INSTALLED)
	$(PY) -m pytest -q

# the fast tier: everything but the tests marked slow (trainings, a Ray cluster, subprocess fleets)
test-fast: $(INSTALLED)
	$(PY) -m pytest -q -m "not slow"

bench: $(INSTALLED)
	$(PY) bench/photos.py
	$(PY) bench/video.py
	$(PY) bench/train.py --size 256 --batch-size 8

gallery: $(INSTALLED)
	$(PY) recipes/gallery.py

# Train (or resume), export and measure every bundled model into models/; needs ../shared/data
zoo: $(INSTALLED)
	$(PY) recipes/zoo.py

# The GAN-objective comparison, from scratch and from the pretrained semantic generator (equal budget per part) -> docs/study.md; needs ../shared/data
study: $(INSTALLED)
	$(PY) recipes/study.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache data/samples/*_color.*
