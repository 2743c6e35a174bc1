#!/bin/bash
# The Graphs tab's cost in WebKitGTK itself (see webkit-charts.html): each variant shown in a
# fresh MiniBrowser, painted on the CPU with 2D canvases on the CPU as Cutover ships, and the
# web process's private memory read after 15 s. Needs ui/node_modules (npm ci) and a display:
#   xvfb-run -a -s "-screen 0 1280x1024x24" dbus-run-session -- bash ui/bench/webkit-charts.sh
# Variants as arguments (parameters as in the page's comment), or the default set below.
set -u
here=$(cd "$(dirname "$0")" && pwd)
browser=${MINIBROWSER:-/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser}
export WEBKIT_SKIA_ENABLE_CPU_RENDERING=1
trap 'rm -f "$here"/.variant-*.html' EXIT
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=("n=0" "n=14&mode=text" "n=14&mode=canvas" "n=14&mode=svg" "n=14" "n=0&scroller=1" "n=14&mode=text&scroller=1" "n=14&scroller=1" "n=14&scroller=1&z=1" "n=14&scroller=1&nowc=1")
for v in "${variants[@]}"; do
  # MiniBrowser drops a file URL's fragment and query: the variant is baked into a copy, next
  # to the page so its relative paths hold.
  page=$(mktemp --suffix=.html "$here/.variant-XXXXXX")
  sed "s|<html>|<html data-variant=\"${v//&/\\&}\">|" "$here/webkit-charts.html" >"$page"
  "$browser" --enable-2d-canvas-acceleration=false "file://$page" >/dev/null 2>&1 &
  pid=$!
  sleep 15
  for child in $(pgrep -P "$pid"); do
    if grep -q WebKitWebProcess "/proc/$child/cmdline" 2>/dev/null; then
      awk -v v="$v" '/^Private_(Clean|Dirty)/ { p += $2 } /^Rss/ { r = $2 }
        END { printf "%-32s web process: private %6.1f MB, RSS %6.1f MB\n", v, p / 1024, r / 1024 }' "/proc/$child/smaps_rollup"
    fi
  done
  kill "$pid"; wait "$pid" 2>/dev/null
  rm -f "$page"
done
