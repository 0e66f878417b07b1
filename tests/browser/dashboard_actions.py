#!/usr/bin/python3
"""Cancel and delete from the dashboard in a real browser.

    dashboard_actions.py BASE_URL JOB_ID MODEL_ID DATASET_ID

Drives headless chromium over the DevTools protocol on a pipe (--remote-debugging-pipe, the
standard library only) and loads BASE_URL/. Each action takes two clicks: the first must only
arm its button ("confirm cancel", "confirm delete") and change nothing. Then: the running job
JOB_ID is cancelled and the page shows it; deleting MODEL_ID, which an alias names, is refused
and the page shows the server's reason; the cancelled job and then DATASET_ID are deleted and
leave the page. Last, a CSV file is uploaded from the page's form (the browser's own
multipart/form-data): the dataset is named after the file, holds its rows, has its SHA-256, and
is listed; and a job is started on it from the page's train form: it trains with the chosen
algorithm, width and iterations, succeeds, and is the job the page shows. Exit 0 on success, 1
with the reason.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
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


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, None


def job_status(base, job):
    return http_status(base + "/v1/jobs/" + job)[1]["status"]


def wait_for(what, check, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for " + what)


def button(verb, ident):
    return 'document.querySelector(\'button[data-%s="%s"]\')' % (verb, ident)


def click_twice(browser, verb, ident, unchanged):
    """Click ident's verb button once (it must arm, and unchanged() must still hold), then again."""
    b = button(verb, ident)
    wait_for("the %s button of %s" % (verb, ident), lambda: browser.eval(b + " !== null"))
    browser.eval(b + ".click()")
    label = wait_for("the armed button", lambda: browser.eval(b + " && " + b + ".textContent"))
    if label != "confirm " + verb:
        raise RuntimeError("after one click the %s button of %s says %r" % (verb, ident, label))
    if not unchanged():
        raise RuntimeError("one click on %s already acted on %s" % (verb, ident))
    browser.eval(b + ".click()")


def main():
    base, job, model, dataset = sys.argv[1:5]
    browser = Browser()
    try:
        browser.open(base + "/")
        click_twice(browser, "cancel", job, lambda: job_status(base, job) == "running")
        wait_for("the job to be cancelled", lambda: job_status(base, job) == "cancelled")
        row = 'document.querySelector(\'tr[data-job-id="%s"]\')' % job
        wait_for("the page to show it", lambda: browser.eval(row + ".dataset.status") == "cancelled")
        if browser.eval(button("cancel", job) + " !== null"):
            raise RuntimeError("a cancelled job still has a cancel button")

        # a model an alias names is not deleted: the page says why
        model_url = base + "/v1/models/" + model
        click_twice(browser, "delete", model, lambda: http_status(model_url)[0] == 200)
        notice = wait_for("the refusal's notice", lambda: browser.eval(
            'document.getElementById("notice").style.display === "block" && document.getElementById("notice").textContent'))
        if "alias 'prod' names this model" not in notice:
            raise RuntimeError("the notice says %r" % notice)
        if http_status(model_url)[0] != 200:
            raise RuntimeError("the model named by an alias was deleted")

        job_url, dataset_url = base + "/v1/jobs/" + job, base + "/v1/datasets/" + dataset
        click_twice(browser, "delete", job, lambda: http_status(job_url)[0] == 200)
        wait_for("the job to be deleted", lambda: http_status(job_url)[0] == 404)
        wait_for("the job to leave the page", lambda: browser.eval(row + " === null"))
        click_twice(browser, "delete", dataset, lambda: http_status(dataset_url)[0] == 200)
        wait_for("the dataset to be deleted", lambda: http_status(dataset_url)[0] == 404)
        wait_for("the dataset to leave the page",
                 lambda: browser.eval('document.querySelector(\'tr[data-id="%s"]\') === null' % dataset))

        # an upload from the page
        folder = tempfile.mkdtemp(prefix="oigd-upload-")
        path = os.path.join(folder, "from_the_page.csv")
        text = "u,v,w\n" + "".join("%d,%.3f,%.3f\n" % (i, i / 7.0, (i * i) % 11 / 3.0) for i in range(40))
        with open(path, "w") as f:
            f.write(text)
        node = browser.call("Runtime.evaluate", {"expression": 'document.getElementById("upload-file")'})
        browser.call("DOM.setFileInputFiles", {"files": [path], "objectId": node["result"]["objectId"]})
        browser.eval('document.querySelector("#upload button").click()')

        def uploaded():
            items = http_status(base + "/v1/datasets")[1]["items"]
            return next((d for d in items if d["name"] == "from_the_page.csv"), None)
        d = wait_for("the uploaded dataset", uploaded)
        subprocess.run(["rm", "-rf", folder], check=False)
        if d["rows"] != 40 or d["columns"] != ["u", "v", "w"] or d["targets"] != ["w"]:
            raise RuntimeError("the uploaded dataset is %r" % d)
        if d["sha256"] != hashlib.sha256(text.encode()).hexdigest():
            raise RuntimeError("the uploaded dataset's sha256 is not the file's")
        wait_for("the uploaded dataset on the page",
                 lambda: browser.eval('document.querySelector(\'tr[data-id="%s"]\') !== null' % d["id"]))

        # a job on it from the page's train form
        wait_for("the dataset in the train form", lambda: browser.eval(
            'Array.from(document.getElementById("train-dataset").options).some(o => o.value === "%s")' % d["id"]))
        wait_for("the algorithms in the train form", lambda: browser.eval(
            'Array.from(document.getElementById("train-algorithm").options).some(o => o.value === "lm")'))
        browser.eval('document.getElementById("train-dataset").value = "%s";'
                     'document.getElementById("train-algorithm").value = "lm";'
                     'document.getElementById("train-hidden").value = "4";'
                     'document.getElementById("train-iterations").value = "20";'
                     'document.querySelector("#train button").click()' % d["id"])

        def started():
            items = http_status(base + "/v1/jobs")[1]["items"]
            return next((j for j in items if j["dataset_id"] == d["id"]), None)
        j = wait_for("the job started from the page", started)
        if (j["algorithm"], j["hidden_units"], j["max_iterations"]) != ("lm", 4, 20):
            raise RuntimeError("the page started %r" % j)
        wait_for("the job to succeed", lambda: job_status(base, j["id"]) == "succeeded", timeout=60)
        wait_for("the page to show the new job",
                 lambda: browser.eval('document.getElementById("curve").dataset.job') == j["id"])
    except Exception as e:
        print("FAIL: dashboard actions: %s" % e, file=sys.stderr)
        return 1
    finally:
        browser.close()
    print("dashboard_actions: a job cancelled and deleted, a dataset deleted, a named model kept with the "
          "server's reason shown (two clicks each); a CSV uploaded and a job trained on it from the page's forms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
