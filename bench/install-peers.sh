#!/usr/bin/env bash
# Installs the peer trainers and benchmark tools from Debian's packages (PyTorch, scikit-learn,
# SciPy, NumPy, FANN, gnuplot, OpenBLAS with pthreads, wrk, hyperfine) and checks that the system
# libblas.so.3 (used by Debian's numpy/scipy/torch) resolves to OpenBLAS, not the reference BLAS.
# Idempotent: packages already present are left alone; apt-get update runs only when something is missing.
# Run as root:   bash bench/install-peers.sh
set -euo pipefail

PKGS=(python3-torch python3-sklearn python3-scipy python3-numpy libfann-dev gnuplot-nox
      libopenblas0-pthread wrk hyperfine)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y "${PKGS[@]}"
else
    echo "all peer packages already installed"
fi

echo "--- BLAS alternative (numpy/scipy/torch load libblas.so.3 through it)"
update-alternatives --display libblas.so.3-x86_64-linux-gnu || true
cur=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 || true)
echo "libblas.so.3 -> $cur"
case "$cur" in
    *openblas*) echo "OK: OpenBLAS is the active libblas.so.3" ;;
    *) echo "WARNING: libblas.so.3 is not OpenBLAS; peers would use the reference BLAS" >&2 ;;
esac
