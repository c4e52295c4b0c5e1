#!/usr/bin/env bash
# Fill _vendor/ (at the repository root) with the JavaScript the book serves itself, so every page
# renders with no CDN and keeps working offline once loaded:
#   _vendor/plotly.min.js          copied from the installed plotly wheel (same version as Python)
#   _vendor/widgets/               @jupyter-widgets/html-manager (embed-amd) + require.js, from npm
#   _vendor/mathjax/               MathJax 3 (tex-mml-chtml + woff-v2 fonts + a11y/ui/sre), from npm
# _config.yml points html_static_path, html_js_files, nb_ipywidgets_js and mathjax_path here.
# The folder must not be called _static: JB1 injects every .js under _static into every page.
#
# Needs: a python with plotly installed (PYTHON=..., default python), and node + npm (only when
# _vendor/ is missing or stale). Idempotent: a stamp file records the versions; when it matches
# and the files are present the script exits at once. Built in a temporary folder and moved into
# place, so an interrupted run never leaves a half-filled _vendor/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
HTML_MANAGER=1.0.6
REQUIREJS=2.3.7
MATHJAX=3.2.2

PLOTLY=$("$PY" -c 'import plotly; print(plotly.__version__)')
STAMP="plotly=$PLOTLY html-manager=$HTML_MANAGER requirejs=$REQUIREJS mathjax=$MATHJAX"
REQUIRED=(plotly.min.js widgets/require.js widgets/embed-amd.js mathjax/tex-mml-chtml.js)

complete() {
  [ -f _vendor/.stamp ] && [ "$(cat _vendor/.stamp)" = "$STAMP" ] || return 1
  for f in "${REQUIRED[@]}"; do [ -s "_vendor/$f" ] || return 1; done
}
if complete; then
  echo "_vendor/ up to date ($STAMP)"
  exit 0
fi

command -v npm >/dev/null || { echo "vendor.sh: npm not found (install Node.js)" >&2; exit 1; }
out=$(mktemp -d "$PWD/_vendor.tmp.XXXXXX")
tmp=$(mktemp -d)
trap 'rm -rf "$out" "$tmp"' EXIT
chmod 755 "$out"  # mktemp makes it 0700
mkdir -p "$out/widgets" "$out/mathjax/output/chtml/fonts"

"$PY" - "$out" <<'PY'
import pathlib, shutil, sys
import plotly
src = pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
shutil.copy(src, pathlib.Path(sys.argv[1]) / "plotly.min.js")
PY

( cd "$tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent \
    "@jupyter-widgets/html-manager@$HTML_MANAGER" "requirejs@$REQUIREJS" "mathjax@$MATHJAX" )
D="$tmp/node_modules/@jupyter-widgets/html-manager/dist"
for f in "$D"/*; do
  case "$(basename "$f")" in
    *.map | embed.js | embed.js.LICENSE.txt | libembed-amd.js) ;;
    *) cp "$f" "$out/widgets/" ;;
  esac
done
cp "$tmp/node_modules/requirejs/require.js" "$out/widgets/"
M="$tmp/node_modules/mathjax/es5"
cp "$M/tex-mml-chtml.js" "$out/mathjax/"
cp -r "$M/output/chtml/fonts/woff-v2" "$out/mathjax/output/chtml/fonts/"
cp -r "$M/ui" "$M/a11y" "$M/sre" "$out/mathjax/"

echo "$STAMP" >"$out/.stamp"
rm -rf _vendor
mv "$out" _vendor
du -sh _vendor
