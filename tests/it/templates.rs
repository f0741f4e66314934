//! Template sets and rendering: strict mode, `--template-dir`, dependency
//! assembly with toml_edit, GitHub Actions expressions, and deploy files that are
//! valid YAML with the shape their tools expect.

use std::fs;
use std::path::Path;

use predicates::prelude::*;
use stanchion::answers::Value;
use stanchion::template::TemplateSet;
use yaml_rust2::{Yaml, YamlLoader};

use crate::support::{answers_from, list_files, render as render_embedded, stanchion};

/// Writes a template set from `(path, contents)` pairs.
fn template_dir(root: &Path, files: &[(&str, &str)]) {
    for (path, contents) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
}

const BASE_MANIFEST: &str = "name = \"base\"\nsummary = \"test base\"\n\n[[questions]]\nkey = \"name\"\nprompt = \"Project name\"\ntype = \"string\"\nvalidate = \"package-name\"\n\n[[questions]]\nkey = \"description\"\nprompt = \"Description\"\ntype = \"string\"\ndefault = \"A horizontally scalable HTTP API\"\n\n[[questions]]\nkey = \"deploy\"\nprompt = \"Deploy files\"\ntype = \"list\"\n\n[dependencies]\nserde = { version = \"1\", features = [\"derive\"] }\n";
const CARGO_HBS: &str =
    "[package]\nname = \"{{project_name}}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n";

#[test]
fn strict_mode_rejects_a_template_that_names_a_missing_variable() {
    let tmp = tempfile::tempdir().unwrap();
    let templates = tmp.path().join("templates");
    template_dir(
        &templates,
        &[
            ("base/component.toml", BASE_MANIFEST),
            ("base/files/Cargo.toml.hbs", CARGO_HBS),
            (
                "base/files/src/lib.rs.hbs",
                "//! {{project_name}} by {{author_name}}\n",
            ),
        ],
    );
    let out = tmp.path().join("out");
    stanchion()
        .args([
            "new",
            "shop",
            "--yes",
            "--set",
            "deploy=none",
            "--template-dir",
        ])
        .arg(&templates)
        .arg("--dir")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("cannot render template `base/src/lib.rs.hbs`")
                .and(predicate::str::contains("`author_name` is not defined")),
        );
    assert!(!out.exists());
}

#[test]
fn a_template_dir_replaces_the_embedded_set() {
    let tmp = tempfile::tempdir().unwrap();
    let templates = tmp.path().join("templates");
    template_dir(
        &templates,
        &[
            ("base/component.toml", BASE_MANIFEST),
            ("base/files/Cargo.toml.hbs", CARGO_HBS),
            (
                "base/files/README.md.hbs",
                "# {{project_name}}\n{{#if has.docker}}docker: yes{{/if}}\n",
            ),
            ("base/files/verbatim.txt", "{{not a template}}\n"),
            (
                "components/docker/component.toml",
                "name = \"docker\"\nsummary = \"our Dockerfile\"\nselected_if = { key = \"deploy\", contains = \"docker\" }\n\n[[choices]]\nquestion = \"deploy\"\nvalue = \"docker\"\ndefault = true\n\n[dependencies]\nserde = { version = \"1\", features = [\"std\"] }\nserde_json = \"1\"\n",
            ),
            (
                "components/docker/files/Dockerfile.hbs",
                "FROM scratch\nLABEL name={{dns_name}}\n",
            ),
        ],
    );
    let out = tmp.path().join("out");
    stanchion()
        .args([
            "new",
            "team_api",
            "--yes",
            "--set",
            "deploy=docker",
            "--template-dir",
        ])
        .arg(&templates)
        .arg("--dir")
        .arg(&out)
        .assert()
        .success();
    let project_files: Vec<String> = list_files(&out)
        .into_iter()
        .filter(|f| !f.starts_with(".stanchion/"))
        .collect();
    assert_eq!(
        project_files,
        [
            "Cargo.toml",
            "Dockerfile",
            "README.md",
            "stanchion.toml",
            "verbatim.txt"
        ]
    );
    assert_eq!(
        fs::read_to_string(out.join("README.md")).unwrap(),
        "# team_api\ndocker: yes\n"
    );
    assert_eq!(
        fs::read_to_string(out.join("verbatim.txt")).unwrap(),
        "{{not a template}}\n"
    );
    assert_eq!(
        fs::read_to_string(out.join("Dockerfile")).unwrap(),
        "FROM scratch\nLABEL name=team-api\n"
    );
    // Dependencies of both components are assembled with toml_edit, features merged.
    let manifest: toml_edit::DocumentMut = fs::read_to_string(out.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(manifest["package"]["name"].as_str(), Some("team_api"));
    let deps = manifest["dependencies"].as_table().unwrap();
    assert_eq!(
        deps.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        ["serde", "serde_json"]
    );
    assert_eq!(
        deps["serde"].to_string().trim(),
        r#"{ version = "1", features = ["derive", "std"] }"#
    );

    stanchion()
        .arg("components")
        .arg("--template-dir")
        .arg(&templates)
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^docker +our Dockerfile$").unwrap())
        .stdout(predicate::str::contains("crates: serde, serde_json"));
}

#[test]
fn malformed_template_sets_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    template_dir(
        tmp.path(),
        &[(
            "components/x/component.toml",
            "name = \"x\"\nsummary = \"x\"\nselected_if = { key = \"deploy\", contains = \"x\" }\n",
        )],
    );
    let err = TemplateSet::from_dir(tmp.path()).unwrap_err();
    assert!(
        err.to_string().contains("there is no `base/` component"),
        "{err}"
    );

    template_dir(
        tmp.path(),
        &[("base/component.toml", "name = \"core\"\nsummary = \"x\"\n")],
    );
    let err = TemplateSet::from_dir(tmp.path()).unwrap_err();
    assert!(
        err.to_string()
            .contains("names `core` but the folder is `base`"),
        "{err}"
    );

    template_dir(
        tmp.path(),
        &[
            ("base/component.toml", BASE_MANIFEST),
            ("base/files/Cargo.toml.hbs", CARGO_HBS),
        ],
    );
    template_dir(
        tmp.path(),
        &[(
            "components/docker/component.toml",
            "name = \"docker\"\nsummary = \"x\"\ndepends_on = [\"metrics\"]\nselected_if = { key = \"deploy\", contains = \"docker\" }\n\n[[choices]]\nquestion = \"deploy\"\nvalue = \"docker\"\ndefault = true\n",
        )],
    );
    let err = TemplateSet::from_dir(tmp.path()).unwrap_err();
    assert!(
        err.to_string()
            .contains("`depends_on` names `metrics`, which this template set lacks"),
        "{err}"
    );
}

#[test]
fn github_actions_expressions_survive_rendering() {
    let answers = answers_from(&[("name", Value::Str("shop".into()))]).unwrap();
    let tree = render_embedded(&answers).unwrap();
    let workflow =
        std::str::from_utf8(tree.get(".github/workflows/ci.yml").expect("ci workflow")).unwrap();
    assert!(workflow.contains("${{ github"), "{workflow}");
    assert!(
        workflow.contains("${{ runner.os }}") || workflow.contains("${{ matrix"),
        "{workflow}"
    );
    assert!(
        !workflow.contains("{{{{") && !workflow.contains("raw}}"),
        "raw-block markers leaked:\n{workflow}"
    );
    let docs = YamlLoader::load_from_str(workflow).expect("valid YAML");
    assert!(!docs[0]["jobs"].is_badvalue(), "{workflow}");
}

fn yaml_files(tree: &stanchion::tree::Tree) -> Vec<(String, Vec<Yaml>)> {
    tree.iter()
        .filter(|(p, _)| {
            !p.starts_with(".stanchion/") && (p.ends_with(".yml") || p.ends_with(".yaml"))
        })
        .map(|(p, c)| {
            let text = std::str::from_utf8(c).unwrap();
            let docs = YamlLoader::load_from_str(text)
                .unwrap_or_else(|e| panic!("{p} is not valid YAML: {e}\n{text}"));
            (p.to_owned(), docs)
        })
        .collect()
}

#[test]
fn deploy_files_are_valid_compose_and_kubernetes_documents() {
    let answers = answers_from(&[
        ("name", Value::Str("shop_api".into())),
        ("deploy", Value::Str("docker,kubernetes,ci".into())),
    ])
    .unwrap();
    let tree = render_embedded(&answers).unwrap();
    let files = yaml_files(&tree);
    assert!(
        files.len() >= 5,
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (path, docs) in &files {
        if path == "docker-compose.yml" {
            let app = &docs[0]["services"]["app"];
            assert!(!app.is_badvalue(), "compose has an `app` service");
            let ports = format!("{:?}", app["ports"]);
            assert!(ports.contains("8080"), "{ports}");
        } else if path.starts_with("deploy/kubernetes/") {
            for doc in docs {
                assert!(doc["apiVersion"].as_str().is_some(), "{path}: apiVersion");
                let kind = doc["kind"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{path}: kind"));
                if kind != "Kustomization" {
                    let name = doc["metadata"]["name"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{path}: metadata.name"));
                    assert!(
                        name.starts_with("shop-api"),
                        "{path}: DNS-safe name, got {name}"
                    );
                }
                if kind == "Deployment" {
                    let text = std::str::from_utf8(tree.get(path).unwrap()).unwrap();
                    assert!(
                        text.contains("/health/live") && text.contains("/health/ready"),
                        "{path}: probes"
                    );
                }
            }
        }
    }
    let dockerfile = std::str::from_utf8(tree.get("Dockerfile").unwrap()).unwrap();
    assert!(
        dockerfile.contains("FROM ") && dockerfile.contains("shop_api")
            || dockerfile.contains("shop-api")
    );
    assert!(dockerfile.contains("USER"), "runs as a non-root user");
}

#[test]
fn compose_with_postgres_has_a_healthchecked_database_the_app_waits_for() {
    let answers = answers_from(&[
        ("name", Value::Str("shop".into())),
        ("database", Value::Str("postgres".into())),
        ("deploy", Value::Str("docker,ci".into())),
    ])
    .unwrap();
    let tree = render_embedded(&answers).unwrap();
    let compose = std::str::from_utf8(tree.get("docker-compose.yml").unwrap()).unwrap();
    let doc = &YamlLoader::load_from_str(compose).expect("valid YAML")[0];
    let db = &doc["services"]["db"];
    assert!(
        db["image"].as_str().unwrap().starts_with("postgres"),
        "{compose}"
    );
    let test = format!("{:?}", db["healthcheck"]["test"]);
    assert!(test.contains("pg_isready"), "{compose}");
    assert_eq!(
        doc["services"]["app"]["depends_on"]["db"]["condition"].as_str(),
        Some("service_healthy"),
        "{compose}"
    );
    let env = format!("{:?}", doc["services"]["app"]["environment"]);
    assert!(env.contains("DATABASE_URL"), "{compose}");
    // The CI workflow runs the tests against a PostgreSQL service.
    let workflow = std::str::from_utf8(tree.get(".github/workflows/ci.yml").unwrap()).unwrap();
    let ci = &YamlLoader::load_from_str(workflow).expect("valid YAML")[0];
    let jobs = format!("{:?}", ci["jobs"]);
    assert!(
        jobs.contains("postgres") && jobs.contains("DATABASE_URL"),
        "{workflow}"
    );
}

/// The alert rules of the `metrics` component: valid YAML in the shape
/// Prometheus' `rule_files` expect, selecting the project's job, and built only on
/// series the generated service exports (the pool rule only with a database).
#[test]
fn prometheus_alert_rules_are_valid_and_use_the_exported_series() {
    let series = regex::Regex::new(r"([a-z_:][a-z0-9_:]*)\{").unwrap();
    let duration = regex::Regex::new(r"^[0-9]+[smh]$").unwrap();
    for (database, expected) in [
        (
            "none",
            &["HttpHighErrorRatio", "HttpHighLatencyP99", "InstanceDown"][..],
        ),
        (
            "sqlite",
            &[
                "HttpHighErrorRatio",
                "HttpHighLatencyP99",
                "InstanceDown",
                "DatabasePoolSaturated",
            ][..],
        ),
    ] {
        let answers = answers_from(&[
            ("name", Value::Str("shop_api".into())),
            ("metrics", Value::Bool(true)),
            ("database", Value::Str(database.into())),
        ])
        .unwrap();
        let tree = render_embedded(&answers).unwrap();
        // The series the rendered service declares (its components' fills
        // included, such as the database's pool gauges).
        let exported = std::str::from_utf8(tree.get("src/metrics.rs").expect("metrics.rs"))
            .unwrap()
            .to_owned();
        let text =
            std::str::from_utf8(tree.get("deploy/prometheus/alerts.yml").expect("alerts")).unwrap();
        assert!(
            !text.contains("raw}}") && !text.contains("{{{{"),
            "raw-block markers leaked:\n{text}"
        );
        let docs = YamlLoader::load_from_str(text).expect("valid YAML");
        let groups = docs[0]["groups"].as_vec().expect("a `groups` list");
        assert_eq!(groups.len(), 1, "{text}");
        assert_eq!(groups[0]["name"].as_str(), Some("shop-api"));
        let rules = groups[0]["rules"].as_vec().expect("a `rules` list");
        let names: Vec<&str> = rules
            .iter()
            .map(|rule| rule["alert"].as_str().expect("`alert`"))
            .collect();
        assert_eq!(names, expected, "database = {database}");
        for rule in rules {
            let name = rule["alert"].as_str().unwrap();
            let expr = rule["expr"].as_str().expect("`expr`");
            assert!(expr.contains(r#"job="shop-api""#), "{name}: {expr}");
            for found in series.captures_iter(expr) {
                let metric = &found[1];
                let base = metric.trim_end_matches("_bucket");
                assert!(
                    metric == "up" || exported.contains(&format!("\"{base}\"")),
                    "{name} uses `{metric}`, which the service does not export"
                );
            }
            assert!(
                duration.is_match(rule["for"].as_str().expect("`for`")),
                "{name}: `for`"
            );
            let severity = rule["labels"]["severity"].as_str().expect("a severity");
            assert!(matches!(severity, "critical" | "warning"), "{name}");
            for annotation in ["summary", "description"] {
                let text = rule["annotations"][annotation].as_str().unwrap_or_default();
                assert!(!text.is_empty(), "{name}: annotation `{annotation}`");
            }
        }
        assert!(
            text.contains("{{ $value | humanizePercentage }}"),
            "Prometheus' own templates survive rendering:\n{text}"
        );
    }

    let without = answers_from(&[("name", Value::Str("shop_api".into()))]).unwrap();
    let tree = render_embedded(&without).unwrap();
    assert!(tree.get("deploy/prometheus/alerts.yml").is_none());
}

/// A template set with a base that declares a slot, and `component` (selected
/// by `deploy` including it) with `manifest_tail` and `files`.
fn slotted_set(root: &Path, component: &str, manifest_tail: &str, files: &[(&str, &str)]) {
    template_dir(
        root,
        &[
            ("base/component.toml", BASE_MANIFEST),
            ("base/files/Cargo.toml.hbs", CARGO_HBS),
            (
                "base/files/src/lib.rs.hbs",
                "//! {{project_name}}\n\n{{slot \"lib.mods\" sorted=true}}\n",
            ),
        ],
    );
    let manifest = format!(
        "name = \"{component}\"\nsummary = \"s\"\nselected_if = {{ key = \"deploy\", contains = \"{component}\" }}\n\n[[choices]]\nquestion = \"deploy\"\nvalue = \"{component}\"\n\n{manifest_tail}"
    );
    let dir = format!("components/{component}");
    template_dir(root, &[(&format!("{dir}/component.toml"), &manifest)]);
    for (path, contents) in files {
        template_dir(root, &[(&format!("{dir}/{path}"), contents)]);
    }
}

#[test]
fn a_fill_for_a_slot_no_file_declares_names_the_closest_slot() {
    let tmp = tempfile::tempdir().unwrap();
    slotted_set(
        tmp.path(),
        "extra",
        "[[fills]]\nslot = \"lib.mod\"\ntext = \"pub mod extra;\"\n",
        &[],
    );
    stanchion()
        .args([
            "new",
            "shop",
            "--yes",
            "--set",
            "deploy=extra",
            "--show",
            "src/lib.rs",
        ])
        .arg("--template-dir")
        .arg(tmp.path())
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("fills slot `lib.mod`")
                .and(predicate::str::contains("did you mean `lib.mods`?")),
        );
    // Spelled right, the fill lands in the slot.
    slotted_set(
        tmp.path(),
        "extra",
        "[[fills]]\nslot = \"lib.mods\"\ntext = \"pub mod extra;\"\n",
        &[],
    );
    stanchion()
        .args([
            "new",
            "shop",
            "--yes",
            "--set",
            "deploy=extra",
            "--show",
            "src/lib.rs",
        ])
        .arg("--template-dir")
        .arg(tmp.path())
        .assert()
        .success()
        .stdout("//! shop\n\npub mod extra;\n");
}

#[test]
fn a_variant_file_is_chosen_by_an_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let tail = "[[questions]]\nkey = \"backend\"\nprompt = \"Backend\"\ntype = \"choice\"\ndefault = \"memory\"\nchoices = [{ value = \"memory\" }, { value = \"disk\" }]\n\n[[files]]\npath = \"variants/memory.rs\"\nif = { key = \"backend\", is = \"memory\" }\nto = \"src/store.rs\"\n\n[[files]]\npath = \"variants/disk.rs\"\nif = { key = \"backend\", is = \"disk\" }\nto = \"src/store.rs\"\n";
    slotted_set(
        tmp.path(),
        "store",
        tail,
        &[
            ("files/variants/memory.rs", "// in memory\n"),
            ("files/variants/disk.rs", "// on disk\n"),
        ],
    );
    for (backend, expected) in [("memory", "// in memory\n"), ("disk", "// on disk\n")] {
        stanchion()
            .args(["new", "shop", "--yes", "--set", "deploy=store"])
            .args([
                "--set",
                &format!("backend={backend}"),
                "--show",
                "src/store.rs",
            ])
            .arg("--template-dir")
            .arg(tmp.path())
            .assert()
            .success()
            .stdout(expected);
    }
    // The other variant is not generated under its own name.
    stanchion()
        .args(["new", "shop", "--yes", "--set", "deploy=store", "--show"])
        .arg("variants/disk.rs")
        .arg("--template-dir")
        .arg(tmp.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "would not have `variants/disk.rs`",
        ));
}
