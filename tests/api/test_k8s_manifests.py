"""deploy/k8s/: the manifests parse, hold the fields Kubernetes requires, agree with each
other (selectors, named ports, Secret keys, mounts), probe paths the API serves, and
carry a smppgw.toml the gateway's own config loader accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.api.app import openapi_document
from gateway.config import load_config
from tests.integration.harness import REPO

K8S = REPO / "deploy" / "k8s"
#: A pod listens on its own interfaces: the Services and the kubelet's probes reach it there.
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104
#: The API version each kind is written for (the stable ones).
API_VERSIONS = {
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "Job": "batch/v1",
    "PodDisruptionBudget": "policy/v1",
}


def _documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    return docs


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        d
        for d in _documents()
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def _pods() -> list[tuple[str, dict[str, Any]]]:
    """(name, pod template) of the Deployment and the Job."""
    return [
        (d["metadata"]["name"], d["spec"]["template"])
        for d in _documents()
        if d["kind"] in ("Deployment", "Job")
    ]


def test_every_manifest_has_the_required_fields_and_is_listed() -> None:
    docs = _documents()
    assert sorted({d["kind"] for d in docs}) == sorted(API_VERSIONS)
    for d in docs:
        assert d["apiVersion"] == API_VERSIONS[d["kind"]], d["kind"]
        assert d["metadata"]["name"], d
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    files = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == files, "kustomization.yaml lists every manifest"


def test_services_and_the_budget_select_the_gateway_pods() -> None:
    deployment = _one("Deployment", "smppgw")
    spec = deployment["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    assert spec["replicas"] >= 2  # a budget of one available pod needs two
    [container] = spec["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"smpp": 2775, "api": 8775}
    smpp, api = _one("Service", "smppgw-smpp"), _one("Service", "smppgw-api")
    for service in (smpp, api):
        assert service["spec"]["selector"].items() <= labels.items()
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, port
    assert [p["targetPort"] for p in smpp["spec"]["ports"]] == ["smpp"]
    assert [p["targetPort"] for p in api["spec"]["ports"]] == ["api"]
    # The allowlists check the ESME's address: the load balancer must keep it.
    assert smpp["spec"]["externalTrafficPolicy"] == "Local"
    assert api["spec"]["type"] == "ClusterIP"  # the API stays inside the cluster
    budget = _one("PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert 1 <= budget["spec"]["minAvailable"] < spec["replicas"]


def test_probes_ask_paths_the_api_serves_on_its_port() -> None:
    served = openapi_document()["paths"]
    [container] = _one("Deployment")["spec"]["template"]["spec"]["containers"]
    probes = {k: container[k]["httpGet"] for k in ("livenessProbe", "readinessProbe")}
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert probes["readinessProbe"]["path"] == "/readyz"
    for probe in probes.values():
        assert "get" in served[probe["path"]], probe
        assert probe["port"] == "api"


def test_pods_mount_what_exists_and_read_secrets_the_secret_has() -> None:
    secret = _one("Secret", "smppgw-secrets")
    keys = set(secret["stringData"])
    config_map = _one("ConfigMap", "smppgw-config")
    assert len(_pods()) == 2
    for name, template in _pods():
        pod = template["spec"]
        security = pod["securityContext"]
        # A numeric user: the kubelet refuses runAsNonRoot for a named one it cannot check.
        assert security["runAsNonRoot"] is True and security["runAsUser"] > 0, name
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"]
        assert volumes["secrets"]["secret"]["secretName"] == secret["metadata"]["name"]
        assert volumes["secrets"]["secret"]["defaultMode"] & 0o007 == 0, "not world-readable"
        [container] = pod["containers"]
        assert container["command"][:3] == ["smppgw", "--config", "/etc/smppgw/smppgw.toml"]
        assert {m["name"] for m in container["volumeMounts"]} == set(volumes), name
        [env] = container["env"]
        assert env["name"] == "SMPPGW_LEDGER_URL"
        ref = env["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"] in keys) == (secret["metadata"]["name"], True)
    job = _one("Job")["spec"]["template"]["spec"]["containers"][0]
    assert job["command"][-2:] == ["db", "upgrade"]


def test_the_config_map_is_a_config_the_gateway_accepts(tmp_path: Path) -> None:
    """The TOML through the real loader, with the Secret's files where the pod mounts them."""
    text = _one("ConfigMap")["data"]["smppgw.toml"]
    secret = _one("Secret")["stringData"]
    mounts = {
        m["name"]: m["mountPath"]
        for m in _one("Deployment")["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    }
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    for key, value in secret.items():
        (secrets_dir / key).write_text(value)
    # Longest first: the secrets are mounted inside the config's directory.
    text = text.replace(mounts["secrets"], str(secrets_dir))
    text = text.replace("/opt/smppgw/config/", f"{REPO}/config/")  # the image's tariff
    (tmp_path / "smppgw.toml").write_text(text)
    ledger_url = secret["ledger-url"]
    config = load_config(tmp_path / "smppgw.toml", env={"SMPPGW_LEDGER_URL": ledger_url})
    assert config.inline_secrets == (), "passwords come from the Secret, not the ConfigMap"
    assert config.ledger.url == ledger_url and ledger_url.startswith("postgresql://")
    assert config.upstream.password == secret["upstream-password"]
    assert config.smtp.password == secret["smtp-password"]
    assert not config.simulator.enabled
    assert (config.server.host, config.server.port) == (EVERY_INTERFACE, 2775)
    assert (config.api.enabled, config.api.host, config.api.port) == (True, EVERY_INTERFACE, 8775)
    # Each *_file names a key of the Secret, under the path the pods mount it at.
    for line in _one("ConfigMap")["data"]["smppgw.toml"].splitlines():
        if "_file = " in line:
            path = Path(line.split("=", 1)[1].strip().strip('"'))
            assert str(path.parent) == mounts["secrets"] and path.name in secret, line


@pytest.mark.parametrize("name", ["upstream-password", "smtp-password", "ledger-url"])
def test_the_secret_holds_each_value_the_pods_read(name: str) -> None:
    assert _one("Secret")["stringData"][name].strip()
