//! The OpenAPI document is the contract: schemathesis (`st run --checks all`)
//! generates requests from each generated preset's own `/openapi.json` — valid
//! ones, invalid ones, and stateful sequences that follow the links between
//! operations — sends them to the running binary with an administrator's bearer
//! token, and checks every answer against the document: documented status,
//! documented schema and content type, schema-valid requests accepted and
//! schema-violating ones refused, authentication enforced, no 5xx. Any finding
//! fails the test with schemathesis' report.
//!
//! Two answers depend on state rather than on the request's shape, and the run
//! is told so ([`CONFIG`]): 412 to a well-formed `If-Match` that names another
//! version, and 422 to a well-formed `?cursor=` the API never returned (cursors
//! are opaque). And a client that retries sends the same `Idempotency-Key` only
//! with the same body, so each request gets a fresh key ([`HOOKS`]); replays
//! and their 409/422 are the generated project's own tests.
//!
//! schemathesis comes from PyPI (`pip install schemathesis`; `.ci/run` installs
//! it). The services run with limits high enough that the run is not cut short
//! by 429s: the limiter is checked by the e2e tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::e2e::{E2E_JWT_SECRET, ScratchDatabase, call, call_as, fresh_prefix, start, stop};
use crate::support::{cargo_with_env, generated_target_dir, redis_url, stanchion};

/// The administrator the run signs in as (listed in `AUTH_ADMIN_EMAILS`).
const ADMIN_EMAIL: &str = "schemathesis@example.com";
const ADMIN_PASSWORD: &str = "schemathesis password";

/// schemathesis' configuration: the bearer token for the document's `bearer`
/// scheme, and the state-dependent answers described in the module's doc.
const CONFIG: &str = r#"
[auth.openapi.bearer]
bearer = "${ST_TOKEN}"

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "429"]

[[operations]]
include-operation-id = "list_products"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
"#;

/// A schemathesis hook: a fresh `Idempotency-Key` for every request that has one.
const HOOKS: &str = r#"
import uuid

import schemathesis


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
"#;

/// Examples per operation and phase: enough to reach every documented status,
/// bounded so each run takes well under a minute.
const MAX_EXAMPLES: &str = "40";

/// Generates `name` with `args` in `dir`, builds it; the project and binary.
fn build(dir: &Path, name: &str, args: &[&str]) -> (PathBuf, PathBuf) {
    let project = dir.join(name);
    stanchion()
        .args(["new", name, "--yes"])
        .args(args)
        .arg("--dir")
        .arg(&project)
        .assert()
        .success();
    cargo_with_env(&project, &["build", "--locked", "--quiet"], &[]);
    (project, generated_target_dir().join("debug").join(name))
}

/// Registers the administrator and returns an access token, after checking it
/// may write products (so the run does not pass on 401s alone).
fn admin_token(base: &str) -> String {
    let credentials = serde_json::json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD });
    let (status, _, account) = call(
        "POST",
        &format!("{base}/auth/register"),
        Some(credentials.clone()),
    );
    assert_eq!(status, 201, "{account}");
    let (status, _, tokens) = call("POST", &format!("{base}/auth/login"), Some(credentials));
    assert_eq!(status, 200, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let product = serde_json::json!({ "name": "Lamp", "price_cents": 4500 });
    let url = format!("{base}/api/v1/products");
    let (status, _, created) = call_as("POST", &url, Some(product), Some(&token));
    assert_eq!(status, 201, "the administrator's token writes: {created}");
    token
}

/// Runs schemathesis against `base` and fails with its report on any finding.
fn schemathesis(harness: &Path, base: &str, token: &str) {
    let st = Command::new("st")
        .arg("--config-file")
        .arg(harness.join("schemathesis.toml"))
        .args(["run", &format!("{base}/openapi.json")])
        .args(["--checks", "all", "--max-examples", MAX_EXAMPLES])
        .args(["--seed", "20261202", "--no-color"])
        .env("ST_TOKEN", token)
        .env("PYTHONPATH", harness)
        .env("SCHEMATHESIS_HOOKS", "stanchion_hooks")
        // Its cache (`.schemathesis/`) goes to the temporary harness, not
        // into the repository.
        .current_dir(harness)
        .output()
        .expect("schemathesis runs: `pip install schemathesis` puts `st` on PATH");
    let report = String::from_utf8_lossy(&st.stdout);
    assert!(
        st.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let summary = report
        .lines()
        .find(|line| line.contains(" generated, "))
        .unwrap_or_else(|| panic!("no summary:\n{report}"));
    let count = |word: &str| -> usize {
        summary
            .split(", ")
            .find_map(|part| part.trim().strip_suffix(word))
            .and_then(|n| n.trim().split(' ').next()?.parse().ok())
            .unwrap_or(0)
    };
    let (generated, passed) = (count("generated"), count("passed"));
    assert!(generated >= 500, "too few test cases:\n{report}");
    assert!(passed > 0, "no test case passed:\n{report}");
    eprintln!("schemathesis on {base}: {summary}");
}

#[test]
fn schemathesis_finds_nothing_in_the_full_and_local_presets() {
    let tmp = tempfile::tempdir().unwrap();
    let harness = tmp.path().join("harness");
    std::fs::create_dir_all(&harness).unwrap();
    std::fs::write(harness.join("schemathesis.toml"), CONFIG).unwrap();
    std::fs::write(harness.join("stanchion_hooks.py"), HOOKS).unwrap();

    let database = ScratchDatabase::create("stanchion_conformance_full");
    let redis = redis_url();
    let (full_project, full) = build(tmp.path(), "st-full", &["--preset", "full"]);
    let (local_project, local) = build(tmp.path(), "st-local", &["--preset", "local"]);
    let common = [
        ("JWT_SECRET", E2E_JWT_SECRET),
        ("AUTH_ADMIN_EMAILS", ADMIN_EMAIL),
        ("RATE_LIMIT_MAX", "1000000"),
        ("RATE_LIMIT_AUTH_MAX", "1000000"),
    ];
    let rate_limit_prefix = fresh_prefix("st-rate-limit");
    let cache_prefix = fresh_prefix("st-cache");
    let mut full_env = vec![
        ("DATABASE_URL", database.url.as_str()),
        ("DATABASE_READ_URL", database.url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("RATE_LIMIT_KEY_PREFIX", &rate_limit_prefix),
        ("CACHE_KEY_PREFIX", &cache_prefix),
    ];
    full_env.extend(common);
    let sqlite = format!(
        "sqlite://{}?mode=rwc",
        tmp.path().join("st-local.db").display()
    );
    let mut local_env = vec![("DATABASE_URL", sqlite.as_str())];
    local_env.extend(common);

    for (binary, project, env) in [
        (&full, &full_project, &full_env),
        (&local, &local_project, &local_env),
    ] {
        let service = start(binary, project, env);
        let token = admin_token(&service.base);
        schemathesis(&harness, &service.base, &token);
        stop(service);
    }
}
