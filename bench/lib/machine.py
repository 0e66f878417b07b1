"""machine.py -- the machine description every bench/results/*.md starts with: CPU (lscpu), memory,
kernel, the BLAS that libblas.so.3 resolves to, OpenBLAS and peer package versions, the load
average when the report was written, and the oigd commit.

    /usr/bin/python3 bench/lib/machine.py        # prints the markdown block
"""
import os
import subprocess


def _run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as e:  # a missing tool is reported, never fatal
        return "(%s: %s)" % (cmd[0], e)


def _dpkg_version(pkg):
    v = _run(["dpkg-query", "-W", "-f=${Version}", pkg])
    return v if v and not v.startswith("(") else "not installed"


def describe(repo=None):
    lscpu = _run(["lscpu"])
    keep = ("Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket", "L2 cache",
            "L3 cache", "Flags")
    cpu = []
    for line in lscpu.splitlines():
        k = line.split(":")[0].strip()
        if k in keep:
            if k == "Flags":
                fl = line.split(":", 1)[1].split()
                line = "SIMD flags: " + " ".join(f for f in fl if f.startswith(("avx", "fma", "sse4")))
            cpu.append("    " + line.strip())
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().strip()
    except OSError:
        pass
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    commit = _run(["git", "-C", repo or ".", "rev-parse", "--short", "HEAD"])
    pk = ["libopenblas0-pthread", "python3-torch", "python3-sklearn", "python3-scipy",
          "python3-numpy", "libfann-dev", "wrk", "gnuplot-nox"]
    lines = ["## Machine", "", "```"] + cpu + [
        "    " + mem,
        "    kernel: " + _run(["uname", "-srm"]),
        "    libblas.so.3 -> " + blas,
        "    OPENBLAS_NUM_THREADS=%s" % os.environ.get("OPENBLAS_NUM_THREADS", "(unset)"),
        "    load average at report time: " + " ".join(load),
        "    oigd commit: " + commit,
    ] + ["    %s %s" % (p, _dpkg_version(p)) for p in pk] + ["```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(describe(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
