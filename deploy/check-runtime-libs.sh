#!/usr/bin/env bash
# Checks that the runtime image's packages (deploy/install-deps.sh --runtime, plus what they pull
# in, plus Debian's required base that debian:bookworm-slim ships) provide every shared library
# the oigd binary loads, according to ldd. Run on Debian 12 where the binary was built; the
# Dockerfile's build stage runs it, and so does the test suite (CTest: runtime_libraries).
#   deploy/check-runtime-libs.sh [path/to/oigd]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-build/oigd}
[ -x "$bin" ] || { echo "check-runtime-libs: no binary at $bin" >&2; exit 2; }

read -r -a runtime <<<"$(bash "$here/install-deps.sh" --list-runtime)"
# the runtime packages and everything they depend on (recursively, no recommends)
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
            --no-replaces --no-enhances "${runtime[@]}" 2>/dev/null | grep -v '^ ' | tr -d '<>' | sort -u)

owner() {
  # dpkg knows a file by the path its package shipped; with merged /usr try both spellings
  local f=$1 real alt
  real=$(readlink -f "$f")
  for p in "$f" "$real" "${f#/usr}" "/usr$f" "${real#/usr}" "/usr$real"; do
    alt=$(dpkg -S "$p" 2>/dev/null | grep -v '^diversion' | head -1 | cut -d: -f1) || true
    [ -n "$alt" ] && { echo "$alt"; return; }
  done
}

fail=0 checked=0
if ldd "$bin" | grep -q 'not found'; then
  echo "check-runtime-libs: unresolved libraries:" >&2; ldd "$bin" | grep 'not found' >&2; exit 1
fi
# the libraries the binary needs: its direct NEEDED entries and what each of those loads;
# sanitizer runtimes (and what only they load) are left out, a release build has none
declare -A where=()
while read -r lib path; do where[$lib]=$path; done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }')
libs=()
for n in $(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  case "$n" in
    libasan.so*|libubsan.so*|liblsan.so*|libtsan.so*) echo "  skip $n (sanitizer runtime: a release build does not load it)"; continue ;;
  esac
  libs+=("$n")
  [ -n "${where[$n]:-}" ] && libs+=($(ldd "${where[$n]}" | awk '$2 == "=>" && $3 ~ /^\// { print $1 }'))
done
for lib in $(printf '%s\n' "${libs[@]}" | sort -u); do
  path=${where[$lib]:-}
  [ -n "$path" ] || { echo "FAIL: $lib is not resolved by ldd" >&2; fail=1; continue; }
  pkg=$(owner "$path")
  if [ -z "$pkg" ]; then echo "FAIL: $lib ($path) belongs to no package" >&2; fail=1; continue; fi
  prio=$(dpkg-query -W -f='${Priority}' "$pkg" 2>/dev/null || true)
  if grep -qx "$pkg" <<<"$closure"; then how="runtime packages"
  elif [ "$prio" = required ]; then how="base image (priority required)"
  else echo "FAIL: $lib comes from $pkg, which the runtime stage does not install" >&2; fail=1; continue
  fi
  checked=$((checked + 1))
  printf '  ok   %-28s %-24s %s\n' "$lib" "$pkg" "$how"
done
[ $fail -eq 0 ] || exit 1
echo "check-runtime-libs: all $checked libraries of $bin come with the runtime stage"
