#!/usr/bin/env bash
# Printed characters: the digits and capital letters (36 classes) of the fonts in 13 Debian font
# packages, rendered per character by glyphs.py (Pillow, installed from PyPI into a temporary
# virtual environment). Same label, many typefaces.
source "$(dirname "$0")/common.sh"
begin_set glyphs
packages=(fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-freefont-ttf fonts-urw-base35 fonts-texgyre
  fonts-lmodern fonts-cantarell fonts-lato fonts-open-sans fonts-roboto-unhinted fonts-linuxlibertine
  fonts-crosextra-carlito)
versions=""
for package in "${packages[@]}"; do
  versions="$versions $package $(debian_package "$package" "$WORK/fonts/$package"),"
done
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q pillow==11.3.0
"$WORK/venv/bin/python" "$SUITE_DIR/glyphs.py" "$WORK/fonts" "$SET_OUT"
finish_set "Digits and capital letters rendered from the fonts of Debian packages:${versions%,} (free font licences: see each package's copyright file). Label: the character."
