#!/usr/bin/env python3
"""A Hugging Face Hub emulator for saex's download tests (standard library only).

Two HTTP servers on 127.0.0.1 (never another interface):
  hub  /{org}/{name}/resolve/{rev}/{path}   HEAD / GET as the Hub answers them:
         X-Repo-Commit, ETag (W/"<git blob sha1>") for small files; LFS files
         (*.safetensors, *.npz, *.model, tokenizer.json) answer 302 with
         X-Linked-Etag (sha256), X-Linked-Size and a Location on the cdn port.
       /api/models/{org}/{name}/revision/{rev}[?blobs=true]  {"sha", "siblings": [{"rfilename", "size"}]}
       /api/models/{org}/{name}/tree/{rev}?recursive=true     (what huggingface_hub's snapshot_download lists)
       errors as the Hub sends them: 401 + X-Error-Code RepoNotFound (no token) /
         404 RepoNotFound (token), 404 RevisionNotFound / EntryNotFound,
         a gated repo: 401 GatedRepo without a token, 403 GatedRepo with a wrong one.
  cdn  /blobs/{sha256}                      the bytes, with Range (206); logs whether
                                            an Authorization header arrived (it must not).
Control (on the hub port), for scripted failures:
  /_control?op=reset                         forget faults and the log
  /_control?op=fault&kind=drop&path=P&after=N[&times=K]   close the connection after N body bytes
  /_control?op=fault&kind=corrupt&path=P[&times=K]        serve P with one byte flipped
  /_control?op=fault&kind=status&path=P&code=C[&retry_after=S][&where=head|get][&times=K]
  /_control?op=fault&kind=slow&rate=BYTES_PER_S           every body served slowly
  /_control?op=fault&kind=huge&path=P                     the listing says P is 10^15 bytes
  /_log                                      JSON list of {server, method, path, range, auth, t}

Repositories (from this checkout):
  google/gemma-2-2b            examples/model
  test-org/gated-model         examples/model, gated (token: hf_emulator_valid_token)
  test-org/tiny-sharded        tests/fixtures/tiny_b (3 shards + index) + examples' tokenizer
  google/gemma-scope-2b-pt-res layer_2/width_16k/average_l0_141/params.npz = examples/sae/params.npz
                               (+ two other files that a folder download must leave alone)

Usage: hub_emulator.py --port-file FILE   (writes "HUB_PORT CDN_PORT" once both listen)
"""
import argparse
import hashlib
import http.server
import json
import os
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VALID_TOKEN = "hf_emulator_valid_token"
LFS_SUFFIXES = (".safetensors", ".npz", ".model", ".bin")


def read(rel):
    with open(os.path.join(ROOT, rel), "rb") as f:
        return f.read()


def folder(rel, names=None):
    d = os.path.join(ROOT, rel)
    return {n: read(os.path.join(rel, n)) for n in sorted(names or os.listdir(d))
            if os.path.isfile(os.path.join(d, n))}


def build_repos():
    model = folder("examples/model")
    tiny = folder("tests/fixtures/tiny_b", ["config.json", "generation_config.json", "model.safetensors.index.json",
                                              "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                              "model-00003-of-00003.safetensors"])
    tiny["tokenizer.json"] = model["tokenizer.json"]
    scope = {
        "layer_2/width_16k/average_l0_141/params.npz": read("examples/sae/params.npz"),
        "layer_3/width_16k/average_l0_59/params.npz": b"not for this test\n" * 100,
        "README.md": b"# emulated gemma-scope-2b-pt-res\n",
    }
    repos = {
        "google/gemma-2-2b": {"files": model},
        "test-org/gated-model": {"files": dict(model), "gated": True},
        "test-org/tiny-sharded": {"files": tiny},
        "google/gemma-scope-2b-pt-res": {"files": scope},
    }
    for name, r in repos.items():
        r["commit"] = hashlib.sha1(("emulated " + name).encode()).hexdigest()
    return repos


def is_lfs(path):
    return path.endswith(LFS_SUFFIXES) or path.rsplit("/", 1)[-1] == "tokenizer.json"


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class State:
    def __init__(self):
        self.repos = build_repos()
        self.by_sha = {}
        for r in self.repos.values():
            for data in r["files"].values():
                self.by_sha[hashlib.sha256(data).hexdigest()] = data
        self.lock = threading.Lock()
        self.faults = []
        self.log = []
        self.rate = 0
        self.cdn_port = 0

    def take_fault(self, kind, path, where=None):
        """The first matching fault with times left (consumed), or None."""
        with self.lock:
            for f in self.faults:
                if f["kind"] == kind and f.get("path") == path and f["times"] != 0 and (
                        where is None or f.get("where", "head") == where):
                    f["times"] -= 1
                    return dict(f)
        return None

    def has_fault(self, kind, path):
        with self.lock:
            return any(f["kind"] == kind and f.get("path") == path and f["times"] != 0 for f in self.faults)


STATE = State()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_name_ = "hub"

    def log_message(self, fmt, *args):  # quiet: the test reads /_log instead
        pass

    def record(self):
        with STATE.lock:
            STATE.log.append({"server": self.server_name_, "method": self.command, "path": self.path,
                              "range": self.headers.get("Range"), "auth": self.headers.get("Authorization"),
                              "t": time.time()})

    def reply(self, code, headers=None, body=b""):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, error_code=None, message=None):
        h = {"Content-Type": "application/json"}
        if error_code:
            h["X-Error-Code"] = error_code
        if message:
            h["X-Error-Message"] = message
        self.reply(code, h, json.dumps({"error": message or error_code or "error"}).encode())

    def send_bytes(self, data, path, extra=None):
        """200 / 206 with Range, honouring drop / corrupt / slow faults."""
        if STATE.take_fault("corrupt", path):
            data = bytearray(data)
            data[len(data) // 2] ^= 0xFF
            data = bytes(data)
        start, code = 0, 200
        headers = dict(extra or {})
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                return self.reply(416, {"Content-Range": "bytes */%d" % len(data)})
            code = 206
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
        body = data[start:]
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        drop = STATE.take_fault("drop", path)
        limit = len(body) if not drop else min(len(body), int(drop["after"]))
        chunk = 16384
        try:
            for i in range(0, limit, chunk):
                self.wfile.write(body[i:min(i + chunk, limit)])
                self.wfile.flush()
                if STATE.rate:
                    time.sleep(min(chunk, limit - i) / STATE.rate)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        if drop:  # the connection dies mid-file
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)


class HubHandler(Handler):
    server_name_ = "hub"

    def do_HEAD(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def auth_state(self, repo):
        """None when allowed, else (code, error_code, message)."""
        auth = self.headers.get("Authorization")
        if not repo.get("gated"):
            return None
        name = repo["name"]
        if not auth:
            return (401, "GatedRepo", "Access to model %s is restricted. You must have access to it and be "
                                      "authenticated to access it. Please log in." % name)
        if auth != "Bearer " + VALID_TOKEN:
            return (403, "GatedRepo", "Access to model %s is restricted and you are not in the authorized list. "
                                      "Visit https://huggingface.co/%s to ask for access." % (name, name))
        return None

    def find_repo(self, org, name):
        r = STATE.repos.get(org + "/" + name)
        if r is None:
            if self.headers.get("Authorization"):
                self.error(404, "RepoNotFound", "Repository not found")
            else:
                self.error(401, "RepoNotFound", "Invalid username or password.")
            return None
        r["name"] = org + "/" + name
        return r

    def handle_any(self):
        self.record()
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
        query = dict(urllib.parse.parse_qsl(url.query))
        if parts[:1] == ["_control"]:
            return self.control(query)
        if parts[:1] == ["_log"]:
            with STATE.lock:
                return self.reply(200, {"Content-Type": "application/json"}, json.dumps(STATE.log).encode())
        if len(parts) == 6 and parts[:2] == ["api", "models"] and parts[4] == "revision":
            return self.listing(parts[2], parts[3], parts[5])
        if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "tree":  # huggingface_hub's listing
            return self.tree(parts[2], parts[3], parts[5], "/".join(parts[6:]))
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve(parts[0], parts[1], parts[3], "/".join(parts[4:]))
        self.error(404, None, "no such route")

    def control(self, q):
        op = q.get("op")
        with STATE.lock:
            if op == "reset":
                STATE.faults, STATE.log, STATE.rate = [], [], 0
            elif op == "fault" and q.get("kind") == "slow":
                STATE.rate = int(q["rate"])
            elif op == "fault":
                f = dict(q)
                f["times"] = int(q.get("times", 1))
                STATE.faults.append(f)
            else:
                return self.error(400, None, "unknown control op")
        self.reply(200, {"Content-Type": "text/plain"}, b"ok\n")

    def revision_ok(self, repo, rev):
        if rev in ("main", repo["commit"]):
            return True
        self.error(404, "RevisionNotFound", "Invalid rev id: %s" % rev)
        return False

    def listing(self, org, name, rev):
        repo = self.find_repo(org, name)
        if repo is None or not self.revision_ok(repo, rev):
            return
        sib = []
        for path, data in sorted(repo["files"].items()):
            size = 10 ** 15 if STATE.has_fault("huge", path) else len(data)
            e = {"rfilename": path, "size": size, "blobId": git_blob_sha1(data)}
            if is_lfs(path):
                e["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": size, "pointerSize": 134}
            sib.append(e)
        doc = {"id": repo["name"], "sha": repo["commit"], "gated": "manual" if repo.get("gated") else False,
               "siblings": sib}
        self.reply(200, {"Content-Type": "application/json"}, json.dumps(doc).encode())

    def tree(self, org, name, rev, prefix):
        """/api/models/{repo}/tree/{rev}[/{path}]?recursive=true: what snapshot_download lists (files only)."""
        repo = self.find_repo(org, name)
        if repo is None or not self.revision_ok(repo, rev):
            return
        out = []
        for path, data in sorted(repo["files"].items()):
            if prefix and not path.startswith(prefix.rstrip("/") + "/"):
                continue
            e = {"type": "file", "oid": git_blob_sha1(data), "size": len(data), "path": path}
            if is_lfs(path):
                e["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            out.append(e)
        self.reply(200, {"Content-Type": "application/json"}, json.dumps(out).encode())

    def resolve(self, org, name, rev, path):
        repo = self.find_repo(org, name)
        if repo is None:
            return
        denied = self.auth_state(repo)
        if denied:
            return self.error(*denied)
        if not self.revision_ok(repo, rev):
            return
        data = repo["files"].get(path)
        if data is None:
            return self.error(404, "EntryNotFound", "%s does not exist on \"%s\"" % (path, rev))
        f = STATE.take_fault("status", path, "head" if self.command == "HEAD" else "get")
        if f:
            h = {"Retry-After": f["retry_after"]} if "retry_after" in f else {}
            return self.reply(int(f["code"]), h, b"emulated failure\n")
        common = {"X-Repo-Commit": repo["commit"]}
        if is_lfs(path):
            sha = hashlib.sha256(data).hexdigest()
            loc = "http://127.0.0.1:%d/blobs/%s?repo=%s&path=%s" % (STATE.cdn_port, sha, urllib.parse.quote(repo["name"]),
                                                                   urllib.parse.quote(path))
            common.update({"X-Linked-Etag": '"%s"' % sha, "X-Linked-Size": str(len(data)), "Location": loc,
                           "ETag": '"%s"' % git_blob_sha1(sha.encode())})
            return self.reply(302, common, b"")
        common["ETag"] = 'W/"%s"' % git_blob_sha1(data)
        self.send_bytes(data, path, common)


class CdnHandler(Handler):
    server_name_ = "cdn"

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.record()
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        sha = url.path.rsplit("/", 1)[-1]
        data = STATE.by_sha.get(sha)
        if data is None:
            return self.error(404, None, "no such blob")
        path = q.get("path", "")
        f = STATE.take_fault("status", path, "get")
        if f:
            h = {"Retry-After": f["retry_after"]} if "retry_after" in f else {}
            return self.reply(int(f["code"]), h, b"busy\n")
        self.send_bytes(data, path, {"ETag": '"%s"' % sha})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    hub = Server(("127.0.0.1", 0), HubHandler)
    cdn = Server(("127.0.0.1", 0), CdnHandler)
    STATE.cdn_port = cdn.server_address[1]
    threading.Thread(target=cdn.serve_forever, daemon=True).start()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (hub.server_address[1], cdn.server_address[1]))
    os.replace(tmp, a.port_file)
    try:
        hub.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
