#!/bin/sh
# Install the Debian font packages that synthetic pages use (textseg/data/synth/fonts.py
# finds them under /usr/share/fonts). Idempotent: packages already there are skipped.
# Needs root (or sudo) and Debian/Ubuntu's apt. The generator also works without them,
# with matplotlib's DejaVu fonts only (that is what the tests assume).
#
#   sh tools/install_fonts.sh            # install what is missing
#   sh tools/install_fonts.sh --list     # print the package list
set -e

PACKAGES="
fonts-liberation fonts-liberation2 fonts-freefont-ttf fonts-urw-base35 fonts-dejavu-extra
fonts-crosextra-caladea fonts-crosextra-carlito fonts-croscore fonts-sil-gentiumplus
fonts-sil-charis fonts-sil-andika fonts-texgyre fonts-linuxlibertine fonts-ebgaramond
fonts-lindenhill fonts-junicode
fonts-roboto fonts-open-sans fonts-lato fonts-cantarell fonts-go fonts-cabin fonts-oxygen
fonts-karla fonts-quicksand fonts-opendin fonts-junction fonts-league-spartan fonts-manrope
fonts-play fonts-jura
fonts-inconsolata fonts-hack fonts-mononoki fonts-anonymous-pro fonts-courier-prime
fonts-jetbrains-mono fonts-3270 fonts-gnutypewriter fonts-noto-mono fonts-league-mono
fonts-fantasque-sans fonts-agave fonts-hermit
fonts-comic-neue fonts-dancingscript fonts-humor-sans fonts-dkg-handwriting fonts-breip
fonts-kristi fonts-femkeklaver fonts-rufscript fonts-ecolier-court fonts-bwht
fonts-kaushanscript fonts-tomsontalks
fonts-adf-accanthis fonts-adf-baskervald fonts-adf-berenis fonts-adf-gillius fonts-adf-ikarius
fonts-adf-irianis fonts-adf-libris fonts-adf-oldania fonts-adf-romande fonts-adf-switzera
fonts-adf-tribun fonts-adf-universalis fonts-adf-verana fonts-averia-gwf fonts-averia-sans-gwf
fonts-averia-serif-gwf fonts-goudybookletter fonts-fanwood fonts-paratype fonts-inter
fonts-firacode fonts-tuffy fonts-b612 fonts-monofur fonts-vollkorn fonts-dosis fonts-comfortaa
fonts-oldstandard fonts-prociono fonts-yanone-kaffeesatz
"

if [ "$1" = "--list" ]; then
    for p in $PACKAGES; do echo "$p"; done
    exit 0
fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "install_fonts: all $(echo $PACKAGES | wc -w) font packages are installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
echo "install_fonts: installed$missing"
