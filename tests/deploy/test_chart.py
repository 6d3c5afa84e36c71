"""The Helm chart, rendered and linted offline with helm-python-sdk (Helm's Go SDK, bundled)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import helm_python as helm
import pytest
import yaml
from cryptography.fernet import Fernet

from shared.cluster import SERVICE_ORDER
from tests.deploy.support import (
    CHART,
    ROOT,
    RUNNABLE,
    SERVICES,
    find,
    known_settings,
    names,
    pod_specs,
    render,
    renderer,
    validate_strict,
)

EXTERNAL = {
    "nats": {"bundled": False, "url": "nats://nats.example:4222"},
    "postgres": {"bundled": False, "url": "postgresql://facegate:secret@db.example:5432/facegate"},
    "redis": {"bundled": False, "url": "redis://redis.example:6379/0"},
}
GPU = {"gpu": {"enabled": True, "nodeSelector": {"accelerator": "nvidia"}}}
AUTOSCALED = {"services": {"matcher": {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5}}}}
IMAGE_FOLDER = {
    "services": {
        "camera_ingest": {
            "env": {"FACEGATE_CAMERA_IMAGE_FOLDER": "/images"},
            "extraVolumes": [{"name": "images", "persistentVolumeClaim": {"claimName": "facegate-images"}}],
            "extraVolumeMounts": [{"name": "images", "mountPath": "/images"}],
        }
    }
}
SCENARIOS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "gpu": GPU,
    "external": EXTERNAL,
    "autoscaled": AUTOSCALED,
    "ephemeral": {k: {"persistence": {"enabled": False}} for k in ("nats", "postgres", "redis")},
    "existing-secret": {"existingSecret": "my-facegate", "image": {"registry": "registry.example", "tag": "1.2.3"}},
    "tls": {"tls": {"caSecret": "servers-ca"}, **EXTERNAL},
    "image-folder": IMAGE_FOLDER,
    "tuned": {"config": {"WORKER_THREADS": 4}, "services": {"matcher": {"env": {"FACEGATE_MATCHER_HNSW_EF": "64"}}}},
    "edge-streams": {"edgeStreams": {"enabled": True, "serviceType": "LoadBalancer"}},
}


def deployment(name: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    return find(render(values), "Deployment", f"facegate-{name.replace('_', '-')}")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_lint_is_clean(scenario: str) -> None:
    report = helm.lint(CHART, SCENARIOS[scenario], strict=True, kube_version="v1.25.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"] and not problems, report


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rendered_manifests_pass_kubernetes_schemas(scenario: str) -> None:
    validate_strict(render(SCENARIOS[scenario]))


def test_one_deployment_per_service_of_the_cluster() -> None:
    assert set(SERVICES) == set(SERVICE_ORDER)
    assert names(render(), "Deployment") == {f"facegate-{s.replace('_', '-')}" for s in RUNNABLE}


def test_planned_services_are_off_by_default() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert {s for s in SERVICES if values["services"][s]["enabled"]} == set(RUNNABLE)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_pod_is_non_root_with_a_read_only_root(scenario: str) -> None:
    for where, spec in pod_specs(render(SCENARIOS[scenario])):
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["automountServiceAccountToken"] is False, where
        # Service links would set FACEGATE_GATEWAY_PORT=tcp://... (Service facegate-gateway).
        assert spec["enableServiceLinks"] is False, where
        for container in spec["containers"]:
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["capabilities"]["drop"] == ["ALL"], where


@pytest.mark.parametrize("service", RUNNABLE)
def test_probes_mean_live_and_ready(service: str) -> None:
    container = deployment(service)["spec"]["template"]["spec"]["containers"][0]
    port = "http" if service == "gateway" else "health"
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": port}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
    env = {e["name"]: e for e in container["env"]}
    assert env["FACEGATE_HEALTH_PORT"]["value"] == "8080"
    # Each service's own credentials (test_each_service_connects_with_its_own_credentials).
    keys = {"FACEGATE_NATS_URL": f"nats-url-{service}", "FACEGATE_DATABASE_URL": f"database-url-{service}"}
    for key in ("FACEGATE_NATS_URL", "FACEGATE_DATABASE_URL", "FACEGATE_REDIS_URL"):
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "facegate", "key": keys.get(key, key)}


def test_a_service_block_adds_volumes_to_its_pods_only() -> None:
    """E.g. a ReadWriteMany claim for camera images in Folder storage, in every camera_ingest pod."""
    spec = deployment("camera_ingest", IMAGE_FOLDER)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["images"]["persistentVolumeClaim"] == {"claimName": "facegate-images"}
    assert {"tmp", "data"} <= set(volumes)  # the chart's own stay
    container = spec["containers"][0]
    assert {"name": "images", "mountPath": "/images"} in container["volumeMounts"]
    assert {"name": "FACEGATE_CAMERA_IMAGE_FOLDER", "value": "/images"} in container["env"]
    other = deployment("gateway", IMAGE_FOLDER)["spec"]["template"]["spec"]
    assert "images" not in {v["name"] for v in other["volumes"]}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_facegate_variable_is_a_setting_a_service_reads(scenario: str) -> None:
    """From `config`, a service's `env` or the templates: a misspelt name would be ignored."""
    for where, spec in pod_specs(render(SCENARIOS[scenario])):
        for container in spec["containers"]:
            used = {e["name"] for e in container.get("env", []) if e["name"].startswith("FACEGATE_")}
            assert used <= known_settings(), f"{where}: {sorted(used - known_settings())}"
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert {f"FACEGATE_{key}" for key in values["config"]} <= known_settings()


# Set by the chart itself (the Secret's URLs, role passwords and API keys, the probes' port, the
# provider, the pod name, the gateway's address, the CA of tls.caSecret) or by the image
# (FACEGATE_SERVICE, FACEGATE_GATEWAY_PORT and FACEGATE_GRAPHQL_PORT: the Services, ports and
# probes expect 8098 and 8097): values may not set them again.
CHART_SETS = {
    "FACEGATE_NATS_URL", "FACEGATE_DATABASE_URL", "FACEGATE_REDIS_URL", "FACEGATE_HEALTH_PORT",
    "FACEGATE_EXECUTION_PROVIDER", "FACEGATE_INSTANCE_ID", "FACEGATE_SERVICE", "FACEGATE_GATEWAY_PORT",
    "FACEGATE_GRAPHQL_PORT", "FACEGATE_MIGRATE_ROLE_PASSWORDS", "FACEGATE_TLS_CA_FILE", "FACEGATE_GATEWAY_HOST",
    "FACEGATE_AUTH_API_KEYS", "FACEGATE_SECRET_KEY", "FACEGATE_EDGE_MQTT_URL",
}  # fmt: skip


def test_the_schema_lets_values_set_exactly_the_settings_services_read() -> None:
    """`config` keys and FACEGATE_* names in a service's `env` are refused unless a service reads
    them; the lists follow the settings Structs (add a new setting to values.schema.json)."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    settable = sorted(known_settings() - CHART_SETS)
    config_keys = schema["properties"]["config"]["propertyNames"]["enum"]
    assert config_keys == [name.removeprefix("FACEGATE_") for name in settable], (
        "properties.config.propertyNames.enum should be " + json.dumps([n[9:] for n in settable])
    )
    env_names = schema["definitions"]["service"]["properties"]["env"]["propertyNames"]["anyOf"]
    assert env_names == [{"not": {"pattern": "^FACEGATE_"}}, {"enum": settable}]


def test_replicas_come_from_the_service_block() -> None:
    assert deployment("matcher", {"services": {"matcher": {"replicas": 3}}})["spec"]["replicas"] == 3
    assert deployment("gateway")["spec"]["replicas"] == 2


def test_disabled_service_is_not_deployed() -> None:
    assert "facegate-grouping" not in names(render({"services": {"grouping": {"enabled": False}}}), "Deployment")


def test_autoscaling_on_cpu_owns_the_replicas() -> None:
    objects = render(AUTOSCALED)
    hpa = find(objects, "HorizontalPodAutoscaler", "facegate-matcher")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "facegate-matcher"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert "replicas" not in find(objects, "Deployment", "facegate-matcher")["spec"]
    assert names(objects, "HorizontalPodAutoscaler") == {"facegate-matcher"}


def test_autoscaling_on_queue_depth_through_an_external_metric() -> None:
    queue = {"metricName": "nats_consumer_num_pending", "selector": {"consumer_name": "extractor"}, "averageValue": 50}
    values = {"services": {"extractor": {"autoscaling": {"enabled": True, "queueDepth": queue}}}}
    objects = render(values)
    validate_strict(objects)
    metrics = find(objects, "HorizontalPodAutoscaler", "facegate-extractor")["spec"]["metrics"]
    assert [m["type"] for m in metrics] == ["Resource", "External"]
    external = metrics[1]["external"]
    assert external["metric"] == {"name": "nats_consumer_num_pending", "selector": {"matchLabels": queue["selector"]}}
    assert external["target"] == {"type": "AverageValue", "averageValue": "50"}


def test_autoscaling_on_a_per_pod_metric() -> None:
    """Requests wait in the replicas (NATS queue groups, no JetStream backlog): a Pods metric."""
    queue = {"type": "Pods", "metricName": "facegate_http_requests_per_second", "averageValue": 200}
    objects = render({"services": {"gateway": {"autoscaling": {"enabled": True, "queueDepth": queue}}}})
    validate_strict(objects)
    metrics = find(objects, "HorizontalPodAutoscaler", "facegate-gateway")["spec"]["metrics"]
    assert [m["type"] for m in metrics] == ["Resource", "Pods"]
    assert metrics[1]["pods"] == {
        "metric": {"name": "facegate_http_requests_per_second"},
        "target": {"type": "AverageValue", "averageValue": "200"},
    }


def test_disruption_budgets_only_where_a_pod_can_go() -> None:
    objects = render(AUTOSCALED)
    assert names(objects, "PodDisruptionBudget") == {"facegate-gateway", "facegate-graphql", "facegate-matcher"}
    pdb = find(objects, "PodDisruptionBudget", "facegate-gateway")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "gateway"


@pytest.mark.parametrize("service", ["detector", "extractor"])
def test_gpu_services_get_a_gpu_the_gpu_image_and_gpu_nodes(service: str) -> None:
    spec = deployment(service, GPU)["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["image"].endswith("-gpu")
    assert {"name": "FACEGATE_EXECUTION_PROVIDER", "value": "cuda"} in container["env"]
    assert spec["nodeSelector"] == {"accelerator": "nvidia"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]


def test_cpu_services_stay_off_gpus() -> None:
    for values in ({}, GPU):
        spec = deployment("matcher", values)["spec"]["template"]["spec"]
        assert "nvidia.com/gpu" not in spec["containers"][0]["resources"].get("limits", {})
        assert "tolerations" not in spec and "nodeSelector" not in spec
    limits = deployment("detector")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert "nvidia.com/gpu" not in limits


def test_bundled_servers_by_default() -> None:
    objects = render()
    assert names(objects, "StatefulSet") == {"facegate-nats", "facegate-postgres", "facegate-redis"}
    secret = find(objects, "Secret", "facegate")["stringData"]
    assert re.fullmatch(r"nats://admin:\w{32}@facegate-nats:4222", secret["FACEGATE_NATS_URL"])
    assert secret["FACEGATE_DATABASE_URL"].startswith("postgresql://facegate:")
    assert secret["FACEGATE_DATABASE_URL"].endswith("@facegate-postgres:5432/facegate")
    assert len(secret["postgres-password"]) == 32
    conf = find(objects, "ConfigMap", "facegate-nats")["data"]["nats.conf"]
    assert "max_payload: 8MB" in conf and "jetstream" in conf


def test_bundled_servers_accept_no_anonymous_client() -> None:
    objects = render()
    secret = find(objects, "Secret", "facegate")["stringData"]
    conf = find(objects, "ConfigMap", "facegate-nats")["data"]["nats.conf"]
    assert conf.endswith(renderer().nats_authorization().split("\n", 1)[1])  # users and permissions
    nats = find(objects, "StatefulSet", "facegate-nats")["spec"]["template"]["spec"]["containers"][0]
    users = {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in nats["env"]}
    assert users["NATS_PASSWORD_MATCHER"] == "nats-password-matcher" and "NATS_PASSWORD_EVENTS" in users
    assert all(f"${name}" in conf for name in users)
    redis = find(objects, "StatefulSet", "facegate-redis")["spec"]["template"]["spec"]["containers"][0]
    assert redis["args"][-2:] == ["--requirepass", "$(REDIS_PASSWORD)"]
    assert secret["FACEGATE_REDIS_URL"] == f"redis://:{secret['redis-password']}@facegate-redis:6379/0"
    assert secret["events-nats-url"] == f"nats://events:{secret['nats-password-events']}@facegate-nats:4222"


def test_each_service_connects_with_its_own_credentials() -> None:
    objects = render()
    secret = find(objects, "Secret", "facegate")["stringData"]
    roles = json.loads(secret["FACEGATE_MIGRATE_ROLE_PASSWORDS"])
    for service in RUNNABLE:
        env = {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in deployment(service)["spec"]["template"]
               ["spec"]["containers"][0]["env"] if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]}  # fmt: skip
        assert env["FACEGATE_NATS_URL"] == f"nats-url-{service}"
        assert env["FACEGATE_DATABASE_URL"] == f"database-url-{service}"
        nats_url = secret[f"nats-url-{service}"]
        assert nats_url == f"nats://{service}:{secret[f'nats-password-{service}']}@facegate-nats:4222"
        database_url = secret[f"database-url-{service}"]
        assert database_url == f"postgresql://facegate_{service}:{roles[service]}@facegate-postgres:5432/facegate"
    job = find(objects, "Job", "facegate-migrate")["spec"]["template"]["spec"]["containers"][0]
    keys = {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in job["env"] if "valueFrom" in e}
    assert keys == {
        "FACEGATE_DATABASE_URL": "FACEGATE_DATABASE_URL",
        "FACEGATE_MIGRATE_ROLE_PASSWORDS": "FACEGATE_MIGRATE_ROLE_PASSWORDS",
    }


def test_edge_streams_open_nats_mqtt_listener_with_its_users() -> None:
    """Off by default: no MQTT listener. On: the bundled NATS listens for MQTT (JetStream and a
    server name), a Service of the chosen type reaches it, devices get the MQTT-only `edge` user's
    URL in the Secret and camera_ingest its own MQTT URL."""
    default = render()
    assert "mqtt" not in find(default, "ConfigMap", "facegate-nats")["data"]["nats.conf"]
    assert "facegate-nats-mqtt" not in names(default, "Service")
    objects = render({"edgeStreams": {"enabled": True, "serviceType": "LoadBalancer", "mqttPort": 8883}})
    conf = find(objects, "ConfigMap", "facegate-nats")["data"]["nats.conf"]
    assert "mqtt {\n  port: 8883\n}" in conf and "server_name: facegate-nats" in conf
    assert '"allowed_connection_types": [\n        "MQTT"\n      ]' in conf  # the edge user: MQTT only
    service = find(objects, "Service", "facegate-nats-mqtt")["spec"]
    assert service["type"] == "LoadBalancer" and service["ports"][0]["port"] == 8883
    secret = find(objects, "Secret", "facegate")["stringData"]
    assert secret["edge-mqtt-url"] == f"mqtt://edge:{secret['nats-password-edge']}@facegate-nats:8883"
    ingest = find(objects, "Deployment", "facegate-camera-ingest")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {}).get("key") for e in ingest["env"]}
    assert env["FACEGATE_EDGE_MQTT_URL"] == "mqtt-url-camera_ingest"
    assert "FACEGATE_EDGE_MQTT_URL" not in {e["name"] for e in deployment("camera_ingest")["spec"]["template"]
                                            ["spec"]["containers"][0]["env"]}  # fmt: skip


def test_external_servers_by_url() -> None:
    objects = render(EXTERNAL)
    assert names(objects, "StatefulSet") == set()
    secret = find(objects, "Secret", "facegate")["stringData"]
    assert secret["FACEGATE_NATS_URL"] == secret["nats-url-matcher"] == "nats://nats.example:4222"
    assert secret["FACEGATE_DATABASE_URL"] == "postgresql://facegate:secret@db.example:5432/facegate"
    assert secret["FACEGATE_REDIS_URL"] == "redis://redis.example:6379/0"
    # The migration Job (an administrator there) creates the services' roles on that server too.
    role = json.loads(secret["FACEGATE_MIGRATE_ROLE_PASSWORDS"])["matcher"]
    assert secret["database-url-matcher"] == f"postgresql://facegate_matcher:{role}@db.example:5432/facegate"
    without_roles = render({**EXTERNAL, "credentials": {"postgresRoles": False}})
    secret = find(without_roles, "Secret", "facegate")["stringData"]
    assert secret["database-url-matcher"] == "postgresql://facegate:secret@db.example:5432/facegate"
    assert "FACEGATE_MIGRATE_ROLE_PASSWORDS" not in secret
    assert {"admin-api-key", "FACEGATE_AUTH_API_KEYS", "FACEGATE_SECRET_KEY"} <= set(secret)


def test_a_ca_for_tls_is_mounted_in_every_facegate_pod() -> None:
    objects = render({"tls": {"caSecret": "servers-ca"}})
    for service in RUNNABLE:
        spec = find(objects, "Deployment", f"facegate-{service.replace('_', '-')}")["spec"]["template"]["spec"]
        container = spec["containers"][0]
        assert {"name": "FACEGATE_TLS_CA_FILE", "value": "/etc/facegate/tls/ca.crt"} in container["env"]
        assert {"name": "tls-ca", "mountPath": "/etc/facegate/tls", "readOnly": True} in container["volumeMounts"]
        assert {
            "name": "tls-ca",
            "secret": {"secretName": "servers-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]},
        } in spec["volumes"]


def test_authentication_is_on_by_default_with_a_generated_admin_key() -> None:
    """The gateway and graphql listen on the pod's network and get the SHA-256 of a random admin
    key; the key itself stays in the Secret for the operator (NOTES says how to read it)."""
    objects = render()
    secret = find(objects, "Secret", "facegate")["stringData"]
    key = secret["admin-api-key"]
    assert re.fullmatch(r"fg_[A-Za-z0-9]{43}", key)
    assert secret["FACEGATE_AUTH_API_KEYS"] == f"admin:admin:{hashlib.sha256(key.encode()).hexdigest()}"
    for edge in ("gateway", "graphql"):  # REST and GraphQL take the same credentials
        env = {e["name"]: e for e in deployment(edge)["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["FACEGATE_GATEWAY_HOST"]["value"] == "0.0.0.0"
        ref = env["FACEGATE_AUTH_API_KEYS"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "facegate", "key": "FACEGATE_AUTH_API_KEYS", "optional": True}
        assert "FACEGATE_ALLOW_UNAUTHENTICATED" not in env
    matcher = deployment("matcher")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert not {e["name"] for e in matcher} & {"FACEGATE_AUTH_API_KEYS", "FACEGATE_GATEWAY_HOST"}
    # The Secret is generated, so two renders differ: both keys change together.
    assert find(render(), "Secret", "facegate")["stringData"]["admin-api-key"] != key


def test_camera_credentials_are_encrypted_with_a_generated_key_only_camera_ingest_reads() -> None:
    secret = find(render(), "Secret", "facegate")["stringData"]
    Fernet(secret["FACEGATE_SECRET_KEY"].encode())  # a valid key (ValueError otherwise)
    for service in RUNNABLE:
        env = {e["name"]: e for e in deployment(service)["spec"]["template"]["spec"]["containers"][0]["env"]}
        if service == "camera_ingest":
            ref = env["FACEGATE_SECRET_KEY"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "facegate", "key": "FACEGATE_SECRET_KEY"}
        else:
            assert "FACEGATE_SECRET_KEY" not in env, service
    assert find(render(), "Secret", "facegate")["stringData"]["FACEGATE_SECRET_KEY"] != secret["FACEGATE_SECRET_KEY"]


def test_more_api_keys_and_jwt_settings_from_values() -> None:
    entry = f"ci:operator:{'ab' * 32}"
    values = {
        "auth": {"generateAdminKey": False, "apiKeys": [entry]},
        "config": {"AUTH_ISSUER": "https://idp.example/realms/x", "AUTH_AUDIENCE": "facegate",
                   "AUTH_JWKS_URL": "https://idp.example/realms/x/certs"},
    }  # fmt: skip
    objects = render(values)
    validate_strict(objects)
    secret = find(objects, "Secret", "facegate")["stringData"]
    assert secret["FACEGATE_AUTH_API_KEYS"] == entry and "admin-api-key" not in secret
    env = {
        e["name"]: e.get("value")
        for e in deployment("gateway", values)["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["FACEGATE_AUTH_JWKS_URL"] == "https://idp.example/realms/x/certs"
    # JWTs only: no key entry in the Secret; the gateway's reference to it is optional.
    jwt_only = {**values, "auth": {"generateAdminKey": False, "apiKeys": []}}
    assert "FACEGATE_AUTH_API_KEYS" not in find(render(jwt_only), "Secret", "facegate")["stringData"]


def test_existing_secret_replaces_the_chart_secret() -> None:
    objects = render(SCENARIOS["existing-secret"])
    assert names(objects, "Secret") == set()
    container = find(objects, "Deployment", "facegate-matcher")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example/facegate/matcher:1.2.3"
    env = container["env"]
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in env if "secretKeyRef" in e.get("valueFrom", {})}
    assert refs == {"my-facegate"}


def test_migration_job_is_a_hook_after_install_and_before_upgrade() -> None:
    job = find(render(), "Job", "facegate-migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "shared.db.migrate"]
    assert "Job" not in {o["kind"] for o in render({"migrations": {"enabled": False}})}


def test_notes_say_how_to_reach_the_api() -> None:
    with helm.Chart.load(CHART) as chart:
        notes = chart.render(name="facegate", namespace="vision")["facegate/templates/NOTES.txt"]
    assert "port-forward svc/facegate-gateway 8098:8098" in notes
    assert "kubectl -n vision" in notes
    assert "get secret facegate -o jsonpath='{.data.admin-api-key}' | base64 -d" in notes


# Each bad value, and what the refusal must name (the path of the key, or the reason).
BAD_VALUES: dict[str, tuple[dict[str, Any], str]] = {
    "replicas-as-text": ({"services": {"matcher": {"replicas": "two"}}}, "'/services/matcher/replicas': got string"),
    "negative-replicas": ({"services": {"matcher": {"replicas": -1}}}, "'/services/matcher/replicas': minimum"),
    "fractional-replicas": ({"services": {"gateway": {"replicas": 1.5}}}, "'/services/gateway/replicas': got number"),
    "unknown-service": (
        {"services": {"matchr": {"enabled": True, "replicas": 1, "resources": {}}}},
        "'/services': additional properties 'matchr' not allowed",
    ),
    "unknown-service-key": (
        {"services": {"matcher": {"replica": 2}}},
        "'/services/matcher': additional properties 'replica' not allowed",
    ),
    "unknown-top-level-key": ({"sevices": {}}, "additional properties 'sevices' not allowed"),
    "bad-pull-policy": ({"image": {"pullPolicy": "Sometimes"}}, "'/image/pullPolicy'"),
    "bad-memory-quantity": (
        {"services": {"matcher": {"resources": {"limits": {"memory": "lots"}}}}},
        "'/services/matcher/resources/limits/memory'",
    ),
    "external-nats-without-url": ({"nats": {"bundled": False}}, "'/nats/url'"),
    "gpu-count-zero": ({"gpu": {"enabled": True, "count": 0}}, "'/gpu/count'"),
    "min-above-max-replicas": (
        {"services": {"matcher": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}}},
        "services.matcher.autoscaling: minReplicas is above maxReplicas",
    ),
    "url-in-config": ({"config": {"DATABASE_URL": "postgresql://x@y/z"}}, "invalid propertyName 'DATABASE_URL'"),
    "misspelt-config-key": ({"config": {"WORKER_THREAD": 4}}, "invalid propertyName 'WORKER_THREAD'"),
    "misspelt-env-setting": (
        {"services": {"matcher": {"env": {"FACEGATE_MATCHER_HNSW_EFF": "64"}}}},
        "invalid propertyName 'FACEGATE_MATCHER_HNSW_EFF'",
    ),
    "gateway-port-in-config": ({"config": {"GATEWAY_PORT": 9000}}, "invalid propertyName 'GATEWAY_PORT'"),
    "env-the-chart-sets": (
        {"services": {"matcher": {"env": {"FACEGATE_HEALTH_PORT": "9000"}}}},
        "invalid propertyName 'FACEGATE_HEALTH_PORT'",
    ),
    "bad-queue-metric-type": (
        {"services": {"matcher": {"autoscaling": {"enabled": True, "queueDepth": {"type": "Object"}}}}},
        "'/services/matcher/autoscaling/queueDepth/type'",
    ),
    "mount-without-path": (
        {"services": {"camera_ingest": {"extraVolumeMounts": [{"name": "images"}]}}},
        "'/services/camera_ingest/extraVolumeMounts/0': missing property 'mountPath'",
    ),
    "volume-named-like-the-charts": (
        {"services": {"matcher": {"extraVolumes": [{"name": "tmp", "emptyDir": {}}]}}},
        "'/services/matcher/extraVolumes/0/name'",
    ),
    "api-key-in-clear": ({"auth": {"apiKeys": ["ci:operator:my-secret-key"]}}, "'/auth/apiKeys/0'"),
    "api-key-unknown-role": ({"auth": {"apiKeys": [f"ci:root:{'0' * 64}"]}}, "'/auth/apiKeys/0'"),
    "host-in-config": ({"config": {"GATEWAY_HOST": "127.0.0.1"}}, "invalid propertyName 'GATEWAY_HOST'"),
    "mount-over-tmp": (
        {"services": {"matcher": {"extraVolumeMounts": [{"name": "x", "mountPath": "/tmp"}]}}},
        "'/services/matcher/extraVolumeMounts/0/mountPath'",
    ),
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_bad_values_are_rejected(case: str) -> None:
    values, named = BAD_VALUES[case]
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmError) as refused:
        chart.render(values, name="facegate")
    assert named in str(refused.value)


def test_bad_values_fail_lint() -> None:
    report = helm.lint(CHART, BAD_VALUES["replicas-as-text"][0], strict=True)
    assert any("replicas" in e for e in report["errors"]), report


def test_schema_covers_every_default() -> None:
    """values.yaml passes its own schema, and each service block is described once in it."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert sorted(schema["properties"]["services"]["properties"]) == sorted(SERVICES)
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(chart.values)
        assert sorted(chart.values["services"]) == sorted(SERVICES)


def documented_values() -> list[tuple[str, dict[str, Any]]]:
    """The ```yaml blocks of the deployment docs that are chart values (where, values)."""
    found = []
    for doc in (ROOT / "README.md", ROOT / "docs" / "deployment.md"):
        for number, block in enumerate(re.findall(r"^```yaml\n(.*?)^```", doc.read_text(), re.M | re.S), 1):
            found.append((f"{doc.name}#{number}", yaml.safe_load(block)))
    return found


@pytest.mark.parametrize(("where", "values"), documented_values(), ids=[w for w, _ in documented_values()])
def test_values_the_docs_show_install(where: str, values: dict[str, Any]) -> None:
    """What README.md and docs/deployment.md tell users to put in a values file passes the schema
    and renders objects that pass the Kubernetes schemas."""
    validate_strict(render(values))
