"""A local stand-in for the Hugging Face Hub, so download tests never leave the machine.

It answers the requests huggingface_hub makes to list a repository and fetch
a file, with the same headers the real hub sends:

* GET  /api/models/{repo}[/revision/{rev}]      model info, files in "siblings"
* GET  /api/models/{repo}/tree/{rev}[/{path}]   tree listing (list_repo_files)
* HEAD/GET /{repo}/resolve/{rev}/{filename}     X-Repo-Commit, ETag, Content-Length

Like the real hub, large files (git-lfs on huggingface.co) are not served by
/resolve: it answers 302 with X-Linked-Etag / X-Linked-Size and a Location on
a separate "CDN" server (another port, so huggingface_hub treats it as a
foreign host and drops the Authorization header). Both servers honour
single byte ranges, which huggingface_hub uses to resume downloads.

Unknown repositories, revisions and files get 404 with the X-Error-Code
header that makes huggingface_hub raise RepositoryNotFoundError,
RevisionNotFoundError or RemoteEntryNotFoundError.

Use the `hub_server` fixture, or FakeHub as a context manager.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO, Self
from urllib.parse import quote, unquote, urlsplit

import pytest

# Files at least this big, or with these suffixes, are "LFS" files (served via the CDN).
LFS_MIN_SIZE = 10 * 1024 * 1024
LFS_SUFFIXES = (".gguf", ".safetensors", ".bin")

_CHUNK = 1024 * 1024
_REPO = r"(?P<repo>[\w.-]+/[\w.-]+)"
_API_INFO = re.compile(rf"^/api/models/{_REPO}(?:/revision/(?P<rev>[^/]+))?$")
_API_TREE = re.compile(rf"^/api/models/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?$")
_RESOLVE = re.compile(rf"^/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_CDN = re.compile(rf"^/{_REPO}/(?P<path>.+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass(frozen=True)
class RecordedRequest:
    """One request received by the hub or the CDN, for assertions."""

    server: str  # "hub" or "cdn"
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased


class _HubFile:
    def __init__(self, name: str, source: bytes | str | os.PathLike[str]) -> None:
        self.name = name
        self._source = source if isinstance(source, bytes) else Path(source)
        self.size = len(source) if isinstance(source, bytes) else self._source.stat().st_size
        self.lfs = self.size >= LFS_MIN_SIZE or name.endswith(LFS_SUFFIXES)

    def open(self) -> BinaryIO:
        if isinstance(self._source, bytes):
            return io.BytesIO(self._source)
        return self._source.open("rb")

    @cached_property
    def git_sha1(self) -> str:
        """The git blob id: what the hub uses as ETag for regular files."""
        digest = hashlib.sha1(b"blob %d\0" % self.size)
        self._hash_into(digest)
        return digest.hexdigest()

    @cached_property
    def sha256(self) -> str:
        """The LFS object id: what the hub uses as ETag for LFS files."""
        digest = hashlib.sha256()
        self._hash_into(digest)
        return digest.hexdigest()

    def _hash_into(self, digest) -> None:
        with self.open() as file:
            while chunk := file.read(_CHUNK):
                digest.update(chunk)


@dataclass
class _Repo:
    commit: str
    files: dict[str, _HubFile]


class FakeHub:
    """Two threaded HTTP servers on 127.0.0.1: the hub API and its CDN."""

    def __init__(self) -> None:
        self._repos: dict[str, _Repo] = {}
        self._generation = 0
        self.lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        # The CDN serves each LFS file this many bytes short (with a matching
        # Content-Length), as if the upload were damaged.
        self.cdn_truncate_bytes = 0
        # If set, the CDN drops the connection after sending this many bytes
        # of the next response (once), like a flaky network.
        self.cdn_interrupt_after: int | None = None
        self._servers = {name: _Server(("127.0.0.1", 0), self, name) for name in ("hub", "cdn")}
        self._threads: list[threading.Thread] = []

    @property
    def endpoint(self) -> str:
        """Base URL to pass as `endpoint=` (or HF_ENDPOINT)."""
        return self._url("hub")

    @property
    def cdn_endpoint(self) -> str:
        return self._url("cdn")

    def add_repo(self, repo_id: str, files: Mapping[str, bytes | str | os.PathLike[str]]) -> str:
        """Create or replace a model repository; return its commit hash.

        files maps each filename in the repo (may contain "/") to its
        content, given as bytes or as the path of a local file.
        """
        with self.lock:
            self._generation += 1
            commit = hashlib.sha1(f"{repo_id}@{self._generation}".encode()).hexdigest()
            self._repos[repo_id] = _Repo(commit, {name: _HubFile(name, source) for name, source in files.items()})
            return commit

    def start(self) -> None:
        for server in self._servers.values():
            # A short poll interval keeps shutdown() (and so each test) quick.
            thread = threading.Thread(target=server.serve_forever, args=(0.02,), name=f"fake-hub-{server.name}")
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()  # also waits for request threads
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _url(self, name: str) -> str:
        host, port = self._servers[name].server_address[:2]
        return f"http://{host}:{port}"

    def take_cdn_interruption(self) -> int | None:
        with self.lock:
            interrupt_after, self.cdn_interrupt_after = self.cdn_interrupt_after, None
            return interrupt_after

    def get_repo(self, repo_id: str) -> _Repo | None:
        with self.lock:
            return self._repos.get(repo_id)


class _Server(ThreadingHTTPServer):
    # Request threads must be joined on close: Home Assistant's test plugin
    # fails tests that leave threads behind.
    daemon_threads = False

    def __init__(self, address: tuple[str, int], hub: FakeHub, name: str) -> None:
        super().__init__(address, _Handler)
        self.hub = hub
        self.name = name


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_HEAD(self) -> None:
        self._dispatch(send_body=False)

    def do_GET(self) -> None:
        self._dispatch(send_body=True)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet; tests inspect FakeHub.requests instead."""

    def _dispatch(self, send_body: bool) -> None:
        hub = self.server.hub
        path = urlsplit(self.path).path
        hub.requests.append(
            RecordedRequest(
                self.server.name,
                self.command,
                path,
                {name.lower(): value for name, value in self.headers.items()},
            )
        )
        if self.server.name == "cdn":
            if match := _CDN.match(path):
                repo = hub.get_repo(match["repo"])
                hub_file = repo and repo.files.get(unquote(match["path"]))
                if hub_file:
                    interrupt_after = hub.take_cdn_interruption() if send_body else None
                    self._send_file(hub_file, send_body, truncate=hub.cdn_truncate_bytes, interrupt_after=interrupt_after)
                    return
            self._send_error(HTTPStatus.NOT_FOUND, None, "Not found")
            return

        for pattern, handler in (
            (_API_INFO, self._model_info),
            (_API_TREE, self._tree),
            (_RESOLVE, self._resolve),
        ):
            if match := pattern.match(path):
                repo = hub.get_repo(match["repo"])
                if repo is None:
                    self._send_error(HTTPStatus.NOT_FOUND, "RepoNotFound", "Repository not found")
                    return
                revision = unquote(match["rev"] or "main")
                if revision not in ("main", repo.commit):
                    self._send_error(
                        HTTPStatus.NOT_FOUND,
                        "RevisionNotFound",
                        f"Invalid rev id: {revision}",
                        repo.commit,
                    )
                    return
                handler(match["repo"], repo, unquote(match.groupdict().get("path") or ""), send_body)
                return
        self._send_error(HTTPStatus.NOT_FOUND, None, "Not found")

    def _model_info(self, repo_id: str, repo: _Repo, _path: str, send_body: bool) -> None:
        blobs = "blobs=true" in urlsplit(self.path).query.lower()
        siblings = []
        for hub_file in repo.files.values():
            sibling: dict[str, object] = {"rfilename": hub_file.name}
            if blobs:
                sibling["size"] = hub_file.size
                sibling["blobId"] = self._blob_id(hub_file)
                if hub_file.lfs:
                    sibling["lfs"] = {
                        "size": hub_file.size,
                        "sha256": hub_file.sha256,
                        "pointerSize": len(self._lfs_pointer(hub_file)),
                    }
            siblings.append(sibling)
        self._send_json(
            {
                "_id": repo.commit[:24],
                "id": repo_id,
                "modelId": repo_id,
                "author": repo_id.split("/")[0],
                "sha": repo.commit,
                "private": False,
                "gated": False,
                "disabled": False,
                "tags": ["gguf"],
                "siblings": siblings,
            },
            send_body,
        )

    def _tree(self, repo_id: str, repo: _Repo, folder: str, send_body: bool) -> None:
        recursive = "recursive=true" in urlsplit(self.path).query.lower()
        prefix = f"{folder.rstrip('/')}/" if folder else ""
        entries: dict[str, dict[str, object]] = {}
        for hub_file in repo.files.values():
            if not hub_file.name.startswith(prefix):
                continue
            parts = hub_file.name[len(prefix) :].split("/")
            # Folders on the way to the file, only the first one unless recursive.
            for depth in range(1, len(parts) if recursive else min(len(parts), 2)):
                folder_path = prefix + "/".join(parts[:depth])
                oid = hashlib.sha1(folder_path.encode()).hexdigest()
                entries[folder_path] = {"type": "directory", "oid": oid, "size": 0, "path": folder_path}
            if recursive or len(parts) == 1:
                entry: dict[str, object] = {
                    "type": "file",
                    "oid": self._blob_id(hub_file),
                    "size": hub_file.size,
                    "path": hub_file.name,
                }
                if hub_file.lfs:
                    entry["lfs"] = {
                        "oid": hub_file.sha256,
                        "size": hub_file.size,
                        "pointerSize": len(self._lfs_pointer(hub_file)),
                    }
                entries[hub_file.name] = entry
        if folder and not entries:
            self._send_error(HTTPStatus.NOT_FOUND, "EntryNotFound", f"{folder} does not exist", repo.commit)
            return
        self._send_json(list(entries.values()), send_body)

    def _resolve(self, repo_id: str, repo: _Repo, filename: str, send_body: bool) -> None:
        hub_file = repo.files.get(filename)
        if hub_file is None:
            self._send_error(HTTPStatus.NOT_FOUND, "EntryNotFound", "Entry not found", repo.commit)
            return
        if not hub_file.lfs:
            self._send_file(
                hub_file,
                send_body,
                extra_headers={"ETag": f'"{hub_file.git_sha1}"', "X-Repo-Commit": repo.commit},
            )
            return
        location = f"{self.server.hub.cdn_endpoint}/{repo_id}/{quote(filename)}"
        self._send_headers(
            HTTPStatus.FOUND,
            {
                "Location": location,
                "ETag": f'"{self._blob_id(hub_file)}"',
                "X-Linked-Etag": f'"{hub_file.sha256}"',
                "X-Linked-Size": str(hub_file.size),
                "X-Repo-Commit": repo.commit,
                "Content-Length": "0",
            },
        )

    def _send_file(
        self,
        hub_file: _HubFile,
        send_body: bool,
        extra_headers: Mapping[str, str] | None = None,
        truncate: int = 0,
        interrupt_after: int | None = None,
    ) -> None:
        size = max(hub_file.size - truncate, 0)
        start, end = 0, size - 1
        status = HTTPStatus.OK
        headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        if (range_header := self.headers.get("Range")) is not None:
            match = _RANGE.match(range_header.strip())
            if match is None or int(match[1]) >= size:
                self._send_headers(
                    HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                    {"Content-Range": f"bytes */{size}", "Content-Length": "0"},
                )
                return
            start = int(match[1])
            end = min(int(match[2]), size - 1) if match[2] else size - 1
            status = HTTPStatus.PARTIAL_CONTENT
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1)
        self._send_headers(status, {**headers, **(extra_headers or {})})
        if not send_body:
            return
        remaining = end - start + 1
        if interrupt_after is not None:
            remaining = min(remaining, interrupt_after)  # then the connection closes
        with hub_file.open() as file:
            file.seek(start)
            try:
                while remaining > 0 and (chunk := file.read(min(_CHUNK, remaining))):
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up; nothing left to do

    def _send_json(self, payload: object, send_body: bool) -> None:
        body = json.dumps(payload).encode()
        self._send_headers(
            HTTPStatus.OK,
            {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(body))},
        )
        if send_body:
            self.wfile.write(body)

    def _send_error(self, status: HTTPStatus, code: str | None, message: str, commit: str | None = None) -> None:
        body = json.dumps({"error": message}).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Content-Length": str(len(body)),
            "X-Error-Message": message,
        }
        if code is not None:
            headers["X-Error-Code"] = code
        if commit is not None:
            headers["X-Repo-Commit"] = commit
        self._send_headers(status, headers)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_headers(self, status: HTTPStatus, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()

    @staticmethod
    def _lfs_pointer(hub_file: _HubFile) -> bytes:
        """The small text file that stands in the git repo for an LFS file."""
        return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{hub_file.sha256}\nsize {hub_file.size}\n").encode()

    @staticmethod
    def _blob_id(hub_file: _HubFile) -> str:
        """Git blob id of the file, or of its LFS pointer."""
        if not hub_file.lfs:
            return hub_file.git_sha1
        pointer = _Handler._lfs_pointer(hub_file)
        return hashlib.sha1(b"blob %d\0" % len(pointer) + pointer).hexdigest()


# An explicit name keeps the fixture "hub_server" when imported under an
# alias (`from .hub_server import hub_server as hub_server_fixture`), which
# spares test modules ruff's F811 for parameters named like the import.
@pytest.fixture(name="hub_server")
def hub_server(socket_enabled: None) -> Iterator[FakeHub]:
    """A running FakeHub for one test; sockets are allowed for its duration."""
    with FakeHub() as hub:
        yield hub
