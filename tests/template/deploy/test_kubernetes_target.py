"""The kubernetes target against a recording kubectl that keeps the applied image: apply of the
digest-pinned overlay, rollout status, restore by re-applying the previous digest (never `rollout undo`),
and the kubeconfig from KUBECONFIG_DATA on every call, port-forward included, removed afterwards."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
from pathlib import Path

import pytest
import yaml

from mlgate.deploy.environments import environment
from mlgate.deploy.targets import KubernetesTarget
from mlgate.errors import MlgateError
from tests.conftest import ROOT, tool


@pytest.fixture(autouse=True)
def _kubectl() -> None:
    tool("kubectl")  # renders the overlays (kustomize)


IMAGE = "ghcr.io/acme/mlgate@sha256:" + "cd" * 32
PREVIOUS = "ghcr.io/acme/mlgate@sha256:" + "ab" * 32
REAL = shutil.which("kubectl")

STUB = """#!/usr/bin/env python3
import json, os, subprocess, sys, time
args = sys.argv[1:]
if args[0] == "port-forward":  # the tunnel takes time to come up on a busy runner
    time.sleep(float(os.environ.get("STUB_FORWARD_SECONDS", "0")))
if args[0] == "kustomize":
    sys.exit(subprocess.call([{real!r}, *args]))
state = {state!r}
stdin = sys.stdin.read() if args[:2] == ["apply", "-f"] else ""
with open({log!r}, "a") as f:
    f.write(json.dumps({{"args": args, "stdin": stdin, "kubeconfig": os.environ.get("KUBECONFIG"),
                        "kubeconfig_exists": os.path.isfile(os.environ.get("KUBECONFIG", "/nonexistent"))}}) + "\\n")
if args[0] == "apply":
    import re
    open(state, "w").write(re.search(r"image: (\\S+@sha256:\\w+)", stdin).group(1))
elif args[0] == "get":
    if not os.path.exists(state):
        print('Error from server (NotFound): deployments.apps "mlgate" not found', file=sys.stderr)
        sys.exit(1)
    print(open(state).read())
elif args[:2] == ["rollout", "status"]:
    if os.environ.get("STUB_TIMEOUT_ON", "-") in open(state).read():
        print("error: timed out waiting for the condition", file=sys.stderr)
        sys.exit(1)
elif args[0] == "port-forward":  # listens on the local port, as kubectl does once the tunnel is up
    import socket
    server = socket.create_server(("127.0.0.1", int(args[-1].split(":")[0])))
    time.sleep(30)
"""


@pytest.fixture
def kubectl(tmp_path, monkeypatch):
    """kubectl on PATH that records each call and keeps the applied image; kustomize goes to the real one."""
    log, state = tmp_path / "calls.jsonl", tmp_path / "applied"
    stub = tmp_path / "bin/kubectl"
    stub.parent.mkdir()
    stub.write_text(STUB.format(real=REAL, state=str(state), log=str(log)))
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{stub.parent}:{os.environ['PATH']}")
    monkeypatch.delenv("KUBECONFIG_DATA", raising=False)
    monkeypatch.chdir(ROOT)

    def calls() -> list[dict]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    calls.state = state  # type: ignore[attr-defined]
    return calls


def test_apply_pins_the_digest_and_waits(kubectl):
    env = environment("staging")
    KubernetesTarget().apply(env, IMAGE)
    apply, status = kubectl()
    assert apply["args"] == ["apply", "-f", "-"]
    deployment = next(d for d in yaml.safe_load_all(apply["stdin"]) if d["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    assert deployment["metadata"]["namespace"] == "mlgate-staging"
    assert status["args"][:3] == ["rollout", "status", "deployment/mlgate"] and "mlgate-staging" in status["args"]


def test_restore_reapplies_exactly_the_previous_digest(kubectl):
    env = environment("production")
    target = KubernetesTarget()
    assert target.current(env) is None  # nothing deployed yet is None, not an error
    target.apply(env, PREVIOUS)
    target.apply(env, IMAGE)
    target.restore(env, PREVIOUS)
    assert target.current(env) == PREVIOUS
    assert not [c for c in kubectl() if c["args"][:2] == ["rollout", "undo"]]


def test_rollout_timeout_is_a_failure(kubectl, monkeypatch):
    monkeypatch.setenv("STUB_TIMEOUT_ON", IMAGE)
    with pytest.raises(MlgateError, match="kubectl rollout failed: error: timed out"):
        KubernetesTarget().apply(environment("dev"), IMAGE)


def test_kubeconfig_from_the_secret_reaches_every_call_and_is_removed(kubectl, monkeypatch):
    monkeypatch.setenv("KUBECONFIG_DATA", "apiVersion: v1\nkind: Config\n")
    env = environment("dev")
    target = KubernetesTarget()
    target.apply(env, IMAGE)
    target.current(env)
    with target.reach(env):
        pass
    target.close()
    calls = kubectl()
    assert [c["args"][0] for c in calls] == ["apply", "rollout", "get", "port-forward"]
    assert {c["kubeconfig"] for c in calls} == {target.env["KUBECONFIG"]}
    assert all(c["kubeconfig_exists"] for c in calls)
    assert not Path(target.env["KUBECONFIG"]).exists()  # the credentials do not outlive the deploy


def test_the_smoke_test_starts_once_the_port_forward_listens(kubectl, monkeypatch):
    """A port-forward that needs 2 s to come up (a busy runner): the service is reached through it, not before."""
    monkeypatch.setenv("STUB_FORWARD_SECONDS", "2")
    target = KubernetesTarget()
    with target.reach(environment("dev")) as url:
        port = int(url.rsplit(":", 1)[1])
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
