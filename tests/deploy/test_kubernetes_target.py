"""The kubernetes target against a recording kubectl: apply of the digest-pinned overlay, rollout
status, undo, and the kubeconfig from the KUBECONFIG_DATA secret."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from mlgate.deploy.environments import environment
from mlgate.deploy.targets import KubernetesTarget
from tests.conftest import ROOT

IMAGE = "ghcr.io/acme/mlgate@sha256:" + "cd" * 32
REAL = shutil.which("kubectl")


@pytest.fixture
def kubectl(tmp_path, monkeypatch):
    """kubectl on PATH that records each call; kustomize goes to the real one."""
    log = tmp_path / "calls.jsonl"
    stub = tmp_path / "bin/kubectl"
    stub.parent.mkdir()
    stub.write_text(f"""#!/usr/bin/env python3
import json, os, subprocess, sys
args = sys.argv[1:]
if args[0] == "kustomize":
    sys.exit(subprocess.call([{REAL!r}, *args]))
stdin = sys.stdin.read() if args[:2] == ["apply", "-f"] else ""
with open({str(log)!r}, "a") as f:
    f.write(json.dumps({{"args": args, "stdin": stdin, "kubeconfig": os.environ.get("KUBECONFIG")}}) + "\\n")
if args[0] == "get":
    print("ghcr.io/acme/mlgate@sha256:previous")
""")
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{stub.parent}:{__import__('os').environ['PATH']}")
    monkeypatch.chdir(ROOT)
    return lambda: [json.loads(line) for line in log.read_text().splitlines()]


def test_run_applies_the_pinned_overlay_and_waits(kubectl):
    env = environment("staging")
    KubernetesTarget().run(env, IMAGE)
    apply, status = kubectl()
    assert apply["args"] == ["apply", "-f", "-"]
    deployment = next(d for d in yaml.safe_load_all(apply["stdin"]) if d["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    assert deployment["metadata"]["namespace"] == "mlgate-staging"
    assert status["args"][:3] == ["rollout", "status", "deployment/mlgate"] and "mlgate-staging" in status["args"]


def test_current_and_undo(kubectl):
    env = environment("production")
    target = KubernetesTarget()
    assert target.current(env) == "ghcr.io/acme/mlgate@sha256:previous"
    target.undo(env, "ignored")
    calls = [c["args"][:2] for c in kubectl()]
    assert calls == [["get", "deployment/mlgate"], ["rollout", "undo"], ["rollout", "status"]]


def test_kubeconfig_comes_from_the_secret(kubectl, monkeypatch):
    monkeypatch.setenv("KUBECONFIG_DATA", "apiVersion: v1\nkind: Config\n")
    KubernetesTarget().current(environment("dev"))
    (call,) = kubectl()
    assert Path(call["kubeconfig"]).read_text() == "apiVersion: v1\nkind: Config\n"
