#!/usr/bin/python3
"""Cancel a running job from the dashboard in a real browser.

    dashboard_cancel.py BASE_URL JOB_ID

Drives headless chromium over the DevTools protocol on a pipe (--remote-debugging-pipe, the
standard library only): loads BASE_URL/, waits for the job's cancel button, clicks it once (it
must arm and say "confirm cancel", the job still running), clicks it again, and then waits for the
API to report the job cancelled and for the page to show it. Exit 0 on success, 1 with the reason.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request


class Browser:
    """Headless chromium whose DevTools endpoint is the pipe pair on its fds 3 and 4."""

    def __init__(self):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():
            # by way of high numbers, so that neither end overwrites the other; dup2 onto the
            # same number would keep the pipe's close-on-exec flag, hence set_inheritable
            os.dup2(to_chrome_r, 20)
            os.dup2(from_chrome_w, 21)
            os.dup2(20, 3)
            os.dup2(21, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.profile = tempfile.mkdtemp(prefix="oigd-cdp-")
        self.proc = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--remote-debugging-pipe", "--user-data-dir=" + self.profile, "about:blank"],
            close_fds=False, preexec_fn=fds,   # after preexec_fn, close_fds would close fds 3 and 4
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.session = None

    def call(self, method, params=None, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        end = time.time() + timeout
        while time.time() < end:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        raise RuntimeError("%s: %s" % (method, reply["error"]))
                    return reply.get("result", {})
            chunk = os.read(self.from_chrome, 65536)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk
        raise RuntimeError("%s: no answer in %d s" % (method, timeout))

    def open(self, url):
        target = self.call("Target.createTarget", {"url": url})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def eval(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    def close(self):
        try:
            self.session = None
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        subprocess.run(["rm", "-rf", self.profile], check=False)


def job_status(base, job):
    with urllib.request.urlopen(base + "/v1/jobs/" + job, timeout=10) as r:
        return json.load(r)["status"]


def wait_for(what, check, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for " + what)


def main():
    base, job = sys.argv[1], sys.argv[2]
    button = 'document.querySelector(\'button[data-cancel="%s"]\')' % job
    browser = Browser()
    try:
        browser.open(base + "/")
        wait_for("the cancel button", lambda: browser.eval(button + " !== null"))
        browser.eval(button + ".click()")
        label = wait_for("the armed button", lambda: browser.eval(button + " && " + button + ".textContent"))
        if label != "confirm cancel":
            raise RuntimeError("after one click the button says %r" % label)
        if job_status(base, job) != "running":
            raise RuntimeError("one click already cancelled the job")
        browser.eval(button + ".click()")
        wait_for("the job to be cancelled", lambda: job_status(base, job) == "cancelled")
        row = 'document.querySelector(\'tr[data-job-id="%s"]\').dataset.status' % job
        wait_for("the page to show it", lambda: browser.eval(row) == "cancelled")
        if browser.eval(button + " !== null"):
            raise RuntimeError("a cancelled job still has a cancel button")
    except Exception as e:
        print("FAIL: dashboard cancel: %s" % e, file=sys.stderr)
        return 1
    finally:
        browser.close()
    print("dashboard_cancel: the job was cancelled from the page (two clicks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
