use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};

use super::render;
use crate::template::registry;

fn data() -> Value {
    json!({
        "name": "shop",
        "n": 3,
        "zero": 0,
        "empty": "",
        "list": [],
        "answers": { "database": "postgres", "metrics": true, "cache": "none" },
        "filled": { "lib.routes": true },
    })
}

/// What handlebars renders, as the fast path would have to (in strict mode
/// when `strict`).
fn handlebars(source: &str, data: &Value, strict: bool) -> Option<String> {
    let mut hb = registry();
    hb.set_strict_mode(strict);
    hb.render_template_with_context(source, &handlebars::Context::from(data.clone()))
        .ok()
}

/// The fast path renders `source` at all, and as handlebars does.
fn same(source: &str) {
    let fast = render(source, &data(), true);
    assert!(fast.is_some(), "the fast path declined {source:?}");
    assert_eq!(fast, handlebars(source, &data(), true), "{source:?}");
}

#[test]
fn renders_the_subset_as_handlebars_does() {
    for source in [
        "plain {{name}} and {{n}} and {{answers.metrics}}\n",
        "{{#if answers.metrics}}\nm\n{{/if}}\nend\n",
        "{{#if (eq answers.database \"postgres\")}}\npg\n{{else}}\nother\n{{/if}}\n",
        "{{#unless answers.metrics}}\nno\n{{else}}\nyes\n{{/unless}}\n",
        "  {{#if answers.metrics}}  \n  x\n  {{/if}}  \nend",
        "a {{#if answers.metrics}}\nx\n{{/if}} b\n",
        "{{#if answers.metrics}}\n{{else}}\nq\n{{/if}}",
        "{{#if missing}}\ny\n{{else}}\nn\n{{/if}}\n",
        "{{#if filled.[lib.routes]}}r{{/if}}{{#if filled.[lib.other]}}o{{/if}}\n",
        "{{#if zero}}z{{/if}}{{#if empty}}e{{/if}}{{#if list}}l{{/if}}{{#if n}}n{{/if}}\n",
        "\t{{#if answers.metrics}}\r\n\tx\r\n\t{{/if}}\r\n",
        "{{#if answers.metrics}}\n  {{#unless (eq answers.cache \"none\")}}\n  c\n  {{/unless}}\n{{/if}}\n",
        "{{#if answers.metrics}}{{name}}{{/if}}",
        "line {{slot \"a.b\"}}\n{{slot \"c\" sorted=true}}\n    {{slot \"d\" spaced=true}}\n",
        "{{name }}\n",
        "a {{{{raw}}}}{{ $labels.x }}{{{{/raw}}}} b {{name}}\n",
        "{{#if answers.metrics}}\n  x: \"{{{{raw}}}}{{ $value | humanize }}{{{{/raw}}}}\"\n{{/if}}\n",
        "{{{{raw}}}}${{ runner.os }}{{{{/raw}}}}\n{{#unless n}}\nq\n{{/unless}}\n",
    ] {
        same(source);
    }
}

#[test]
fn declines_what_it_does_not_know_and_what_handlebars_reports() {
    for source in [
        "{{missing}}",
        "{{#if (eq missing \"x\")}}y{{/if}}",
        "{{#each list}}{{this}}{{/each}}",
        "{{{name}}}",
        "{{! comment }}",
        "{{> partial}}",
        "{{~name}}",
        "\\{{name}}",
        "{{#if answers.metrics}}x{{else}}y{{else}}z{{/if}}",
        "{{#if answers.metrics}}unclosed",
        "{{/if}}",
        "{{#if answers.metrics}}x{{/unless}}",
        "{{answers}}",
        "{{else if x}}",
        "{{ name}}",
        "{{#if answers.metrics}}\n{{name",
        "x\n{{/if}}\n{{#if answers.metrics}}",
        "{{{{raw}}}}\n{{x}}\n{{{{/raw}}}}\n",
        "{{{{raw}}}}{{x}}",
    ] {
        assert_eq!(render(source, &data(), true), None, "{source:?}");
    }
}

#[test]
fn out_of_strict_mode_a_missing_value_is_empty_as_in_handlebars() {
    for source in [
        "a {{missing}} b {{answers.nope}}\n",
        "{{#if (eq missing \"x\")}}\ny\n{{else}}\nn\n{{/if}}\n",
        "{{#unless (eq answers.nope \"x\")}}u{{/unless}}{{#if missing}}m{{/if}}\n",
    ] {
        let fast = render(source, &data(), false);
        assert!(fast.is_some(), "the fast path declined {source:?}");
        assert_eq!(fast, handlebars(source, &data(), false), "{source:?}");
        assert_eq!(render(source, &data(), true), None, "{source:?}");
    }
}

/// Random templates of the subset: text with blanks and line breaks, values
/// (missing ones too), one-line raw blocks, and nested `if` / `unless` blocks with and without `else`.
fn template() -> impl Strategy<Value = String> {
    let text = prop::collection::vec(
        prop::sample::select(vec!["a", " ", "  ", "\t", "\n", "\r\n", "x y", "}", "{"]),
        0..4,
    )
    .prop_map(|parts| parts.concat());
    let value = prop::sample::select(vec![
        "{{name}}",
        "{{n}}",
        "{{answers.metrics}}",
        "{{answers.missing}}",
        "{{{{raw}}}}{{ $v }}{{{{/raw}}}}",
    ])
    .prop_map(str::to_owned);
    let leaf = prop_oneof![text, value];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let cond = prop::sample::select(vec![
            "answers.metrics",
            "missing",
            "zero",
            "n",
            "filled.[lib.routes]",
            "(eq answers.database \"postgres\")",
            "(eq answers.cache \"redis\")",
            "(eq answers.missing \"x\")",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..5).prop_map(|parts| parts.concat()),
            (
                any::<bool>(),
                cond,
                inner.clone(),
                prop::option::of(inner),
                prop::sample::select(vec!["", " ", "\n", "  \n"]),
            )
                .prop_map(|(unless, cond, body, otherwise, pad)| {
                    let name = if unless { "unless" } else { "if" };
                    let otherwise = otherwise
                        .map(|o| format!("{pad}{{{{else}}}}{pad}{o}"))
                        .unwrap_or_default();
                    format!(
                        "{pad}{{{{#{name} {cond}}}}}{pad}{body}{otherwise}{pad}{{{{/{name}}}}}{pad}"
                    )
                }),
        ]
    })
}

/// Whatever the fast path renders of random templates of the subset,
/// handlebars renders the same; it declines only what handlebars refuses (or
/// a stray brace beside a tag), and it renders most of them.
#[test]
fn agrees_with_handlebars_on_random_templates() {
    let rendered = Cell::new(0);
    let config = ProptestConfig::with_cases(2000);
    TestRunner::new(config)
        .run(&template(), |source| {
            for strict in [true, false] {
                let expected = handlebars(&source, &data(), strict);
                let fast = render(&source, &data(), strict);
                if fast.is_some() {
                    rendered.set(rendered.get() + 1);
                    prop_assert_eq!(fast, expected);
                } else {
                    prop_assert!(
                        expected.is_none() || source.contains("{{{") || source.contains("}}}"),
                        "declined a template handlebars renders: {:?}",
                        source
                    );
                }
            }
            Ok(())
        })
        .unwrap();
    assert!(rendered.get() > 3000, "rendered {} of 4000", rendered.get());
}
