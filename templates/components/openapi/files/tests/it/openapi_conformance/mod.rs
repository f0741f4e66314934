//! Checks the service against its OpenAPI document: which operations it lists,
//! and whether a JSON answer matches the schema documented for it.
//!
//! It understands the part of JSON Schema the document uses: `$ref`, `type` (one
//! or several, `null` included), `properties`, `required`, `items`,
//! `additionalProperties`, `enum`, `oneOf`, `anyOf` and `allOf`, and the `uuid`
//! and `date-time` formats. Strictly: a field the schema does not list is an
//! error unless the schema allows additional properties, so an undocumented
//! field fails the tests instead of surprising a client.

use reqwest::Client;
use serde_json::Value;

/// The methods an OpenAPI path item can hold.
const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

/// An OpenAPI document as JSON.
pub struct Document(Value);

impl Document {
    /// Fetches `GET /openapi.json` from the service at `base` (`http://host:port`).
    pub async fn fetch(client: &Client, base: &str) -> Self {
        let response = client
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        Self(response.json().await.expect("the document is JSON"))
    }

    /// Every documented operation, as `(path, METHOD)`.
    pub fn operations(&self) -> Vec<(String, String)> {
        let paths = self.0["paths"].as_object().expect("`paths`");
        let mut operations = Vec::new();
        for (path, item) in paths {
            for method in METHODS {
                if item.get(*method).is_some() {
                    operations.push((path.clone(), method.to_ascii_uppercase()));
                }
            }
        }
        operations
    }

    /// The schema of the JSON body documented for `status` answers of `method
    /// path`, whatever its JSON media type.
    pub fn response_schema(&self, path: &str, method: &str, status: u16) -> &Value {
        let operation = &self.0["paths"][path][method.to_ascii_lowercase()];
        assert!(operation.is_object(), "{method} {path} is not documented");
        let response = &operation["responses"][status.to_string()];
        let content = response["content"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} documents no {status} body"));
        content
            .iter()
            .find(|(media_type, _)| media_type.ends_with("json"))
            .map(|(_, media)| &media["schema"])
            .unwrap_or_else(|| panic!("{method} {path} documents no JSON {status} body"))
    }

    /// Panics, listing every mismatch, unless `value` matches `schema`.
    pub fn assert_conforms(&self, schema: &Value, value: &Value) {
        let mut errors = Vec::new();
        self.check(schema, value, "", &mut errors);
        assert!(
            errors.is_empty(),
            "the answer does not match its documented schema:\n  {}\nanswer: {value}\nschema: {schema}",
            errors.join("\n  ")
        );
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference.strip_prefix('#').expect("a local $ref");
                let target = self.0.pointer(pointer);
                self.resolve(target.unwrap_or_else(|| panic!("dangling $ref {reference}")))
            }
            None => schema,
        }
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        let at_root = if at.is_empty() { "/" } else { at };
        for part in schema["allOf"].as_array().into_iter().flatten() {
            self.check(part, value, at, errors);
        }
        for keyword in ["oneOf", "anyOf"] {
            if let Some(choices) = schema[keyword].as_array() {
                let any = choices.iter().any(|choice| {
                    let mut inner = Vec::new();
                    self.check(choice, value, at, &mut inner);
                    inner.is_empty()
                });
                if !any {
                    errors.push(format!("{at_root}: matches none of `{keyword}`"));
                }
            }
        }
        if let Some(types) = types(schema)
            && !types.iter().any(|ty| has_type(value, ty))
        {
            errors.push(format!("{at_root}: {value} is not of type {types:?}"));
            return;
        }
        if let Some(allowed) = schema["enum"].as_array()
            && !allowed.contains(value)
        {
            errors.push(format!("{at_root}: {value} is not one of {allowed:?}"));
        }
        if let (Some(format), Some(text)) = (schema["format"].as_str(), value.as_str())
            && !has_format(text, format)
        {
            errors.push(format!("{at_root}: `{text}` is not a {format}"));
        }
        match value {
            Value::Object(fields) => {
                for required in schema["required"].as_array().into_iter().flatten() {
                    let name = required.as_str().unwrap();
                    if !fields.contains_key(name) {
                        errors.push(format!("{at_root}: required field `{name}` is missing"));
                    }
                }
                let properties = schema["properties"].as_object();
                let additional = &schema["additionalProperties"];
                for (name, field) in fields {
                    let at = format!("{at}/{name}");
                    match properties.and_then(|p| p.get(name)) {
                        Some(property) => self.check(property, field, &at, errors),
                        None if additional.is_object() => {
                            self.check(additional, field, &at, errors)
                        }
                        None if additional == &Value::Bool(true) => {}
                        None if properties.is_some() => {
                            errors.push(format!("{at}: the field is not documented"));
                        }
                        None => {}
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item) = schema.get("items") {
                    for (i, element) in items.iter().enumerate() {
                        self.check(item, element, &format!("{at}/{i}"), errors);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The types a schema allows, if it says.
fn types(schema: &Value) -> Option<Vec<&str>> {
    match &schema["type"] {
        Value::String(ty) => Some(vec![ty.as_str()]),
        Value::Array(list) => Some(list.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

fn has_format(text: &str, format: &str) -> bool {
    match format {
        "uuid" => uuid::Uuid::parse_str(text).is_ok(),
        // RFC 3339: a full date, `T`, a time and an offset.
        "date-time" => {
            let bytes = text.as_bytes();
            bytes.len() >= 20
                && bytes[4] == b'-'
                && bytes[7] == b'-'
                && matches!(bytes[10], b'T' | b't')
                && (text.ends_with(['Z', 'z']) || text[19..].contains(['+', '-']))
        }
        _ => true,
    }
}
