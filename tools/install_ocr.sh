#!/usr/bin/env bash
# Install textseg's `ocr` extra (textseg.recognize, the OCRmyPDF plugin textseg.ocrmypdf) into
# the active Python environment, with the exact versions of requirements-ocr.txt.
#
#   bash tools/install_ocr.sh          # PYTHON=python3.12 bash tools/install_ocr.sh
#
# tesserocr's wheels bundle libtesseract and leptonica, so usually nothing else is needed.
# Where pip finds no wheel for this platform it builds tesserocr from source; the system's
# Tesseract development files are installed first (apt-get) when pkg-config cannot find them.
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-python}"

if ! "$py" -m pip install -q --only-binary tesserocr -r requirements-ocr.txt; then
  echo "install_ocr: no tesserocr wheel here; building it against the system's libtesseract" >&2
  if ! pkg-config --exists tesseract lept 2>/dev/null; then
    if command -v apt-get >/dev/null 2>&1; then
      sudo=""
      [ "$(id -u)" = 0 ] || sudo="sudo"
      $sudo apt-get update -qq
      $sudo apt-get install -y -qq libtesseract-dev libleptonica-dev pkg-config g++ tesseract-ocr-eng
    else
      echo "install_ocr: install the Tesseract and Leptonica development files (e.g. brew install tesseract), then re-run" >&2
      exit 1
    fi
  fi
  "$py" -m pip install -q -r requirements-ocr.txt
fi

"$py" - <<'PY'
import tesserocr
from textseg.recognize.tesseract import find_tessdata
import ocrmypdf
print(f"install_ocr: tesserocr {tesserocr.__version__} (tesseract {tesserocr.tesseract_version().split()[1]}), "
      f"ocrmypdf {ocrmypdf.__version__}, eng data in {find_tessdata('eng')}")
PY
