//! Custom metadata fields: typed, named slots teams define once and fill on every asset
//! (docs/custom-metadata.md is the user contract). A field's schema says what values are
//! valid; `MetadataWrite` is a request's validated change to one version's values.

use serde_json::{Map, Value};

use super::{AssetId, Timestamp};

/// ImageKit reserves this name for its "original creation date" setting.
pub const RESERVED_FIELD_NAME: &str = "_internal_original_created_datetime";
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_LABEL_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 500;
pub const MAX_SELECT_OPTIONS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    Text,
    Textarea,
    Number,
    Date,
    Boolean,
    SingleSelect,
    MultiSelect,
}

pub const FIELD_TYPES: [FieldType; 7] = [
    FieldType::Text,
    FieldType::Textarea,
    FieldType::Number,
    FieldType::Date,
    FieldType::Boolean,
    FieldType::SingleSelect,
    FieldType::MultiSelect,
];

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "Text",
            FieldType::Textarea => "Textarea",
            FieldType::Number => "Number",
            FieldType::Date => "Date",
            FieldType::Boolean => "Boolean",
            FieldType::SingleSelect => "SingleSelect",
            FieldType::MultiSelect => "MultiSelect",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        FIELD_TYPES.into_iter().find(|t| t.as_str() == text)
    }

    fn is_text(self) -> bool {
        matches!(self, FieldType::Text | FieldType::Textarea)
    }

    fn is_select(self) -> bool {
        matches!(self, FieldType::SingleSelect | FieldType::MultiSelect)
    }

    /// The schema properties besides `type` that this type takes.
    fn allows(self, property: &str) -> bool {
        match property {
            "isValueRequired" | "defaultValue" => true,
            "selectOptions" => self.is_select(),
            "minValue" | "maxValue" => matches!(self, FieldType::Number | FieldType::Date),
            "minLength" | "maxLength" => self.is_text(),
            _ => false,
        }
    }
}

/// What is wrong with a field definition; the message completes "Invalid schema object. …"
/// or names the property.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("Missing {0} parameter.")]
    Missing(&'static str),
    #[error("Invalid schema object. {0}")]
    Schema(String),
    #[error("Invalid {field}. {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("Name cannot be updated.")]
    NameChange,
    #[error("Either label or schema should be provided.")]
    NothingToChange,
    #[error("Cannot update a deleted custom metadata fields.")]
    Deleted,
}

fn schema_error(message: impl Into<String>) -> FieldError {
    FieldError::Schema(message.into())
}

/// A field's type and rules, valid by construction: every property applies to the type, has
/// the right kind of value, and the default (if any) passes the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSchema {
    field_type: FieldType,
    /// The properties besides `type` that are set, in their normalised form (dates as
    /// `YYYY-MM-DDTHH:MM:SS.sssZ`).
    rules: Map<String, Value>,
}

impl FieldSchema {
    /// Reads a schema object (`{"type": …, …}`); `null` properties count as not set.
    pub fn from_json(value: &Value) -> Result<Self, FieldError> {
        let Value::Object(object) = value else {
            return Err(schema_error("schema must be an object."));
        };
        let field_type = match object.get("type") {
            Some(Value::String(t)) => FieldType::parse(t),
            _ => None,
        }
        .ok_or_else(|| {
            schema_error(
                "type must be one of Text, Textarea, Number, Date, Boolean, SingleSelect, MultiSelect.",
            )
        })?;
        let rules = object
            .iter()
            .filter(|(k, v)| k.as_str() != "type" && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        FieldSchema::new(field_type, rules)
    }

    pub fn new(field_type: FieldType, rules: Map<String, Value>) -> Result<Self, FieldError> {
        let mut normalised = Map::new();
        for (property, value) in rules {
            if !field_type.allows(&property) {
                return Err(schema_error(if is_known_property(&property) {
                    format!(
                        "{property} cannot be set for {} fields.",
                        field_type.as_str()
                    )
                } else {
                    format!("{property} is not a schema property.")
                }));
            }
            let value = match property.as_str() {
                "isValueRequired" => match value {
                    Value::Bool(_) => value,
                    _ => return Err(schema_error("isValueRequired must be a boolean.")),
                },
                "selectOptions" => check_select_options(value)?,
                "minLength" | "maxLength" => match value.as_f64() {
                    Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64 => {
                        Value::from(n as u64)
                    }
                    _ => {
                        return Err(schema_error(format!(
                            "{property} must be a whole number of at least 0."
                        )));
                    }
                },
                "minValue" | "maxValue" => match field_type {
                    FieldType::Number => match value.as_f64() {
                        Some(n) if n.is_finite() => value,
                        _ => {
                            return Err(schema_error(format!(
                                "{property} must be a number for Number fields."
                            )));
                        }
                    },
                    _ => match value.as_str().and_then(Timestamp::parse_iso8601) {
                        Some(t) => Value::String(t.to_iso8601()),
                        None => {
                            return Err(schema_error(format!(
                                "{property} must be an ISO 8601 date for Date fields."
                            )));
                        }
                    },
                },
                // Checked against the finished rules below.
                _ => value,
            };
            normalised.insert(property, value);
        }
        let mut schema = FieldSchema {
            field_type,
            rules: normalised,
        };
        if field_type.is_select() && schema.select_options().is_empty() {
            return Err(schema_error(format!(
                "selectOptions is required for {} fields.",
                field_type.as_str()
            )));
        }
        if let (Some(min), Some(max)) =
            (schema.rules.get("minLength"), schema.rules.get("maxLength"))
            && min.as_u64() > max.as_u64()
        {
            return Err(schema_error("minLength cannot be greater than maxLength."));
        }
        if let (Some(min), Some(max)) = (schema.min_value(), schema.max_value())
            && min > max
        {
            return Err(schema_error("minValue cannot be greater than maxValue."));
        }
        if let Some(default) = schema.rules.remove("defaultValue") {
            let default = schema.check_value(&default).map_err(|rule| {
                schema_error(format!("defaultValue is not a valid value: it {rule}"))
            })?;
            schema.rules.insert("defaultValue".into(), default);
        }
        if schema.is_value_required() && schema.default_value().is_none() {
            return Err(schema_error(
                "defaultValue is required when isValueRequired is true.",
            ));
        }
        Ok(schema)
    }

    /// This schema with `patch` merged in: properties given replace, `null` removes, `type`
    /// may be repeated but not changed.
    pub fn merged(&self, patch: &Value) -> Result<Self, FieldError> {
        let Value::Object(patch) = patch else {
            return Err(schema_error("schema must be an object."));
        };
        let mut rules = self.rules.clone();
        for (property, value) in patch {
            if property == "type" {
                if value.as_str() != Some(self.field_type.as_str()) {
                    return Err(schema_error("type cannot be changed."));
                }
            } else if value.is_null() {
                rules.remove(property);
            } else {
                rules.insert(property.clone(), value.clone());
            }
        }
        FieldSchema::new(self.field_type, rules)
    }

    pub fn field_type(&self) -> FieldType {
        self.field_type
    }

    /// `{"type": …, …rules}`: the wire and the stored form.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("type".into(), self.field_type.as_str().into());
        object.extend(self.rules.clone());
        Value::Object(object)
    }

    pub fn select_options(&self) -> &[Value] {
        self.rules
            .get("selectOptions")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    pub fn default_value(&self) -> Option<&Value> {
        self.rules.get("defaultValue")
    }

    pub fn is_value_required(&self) -> bool {
        self.rules.get("isValueRequired") == Some(&Value::Bool(true))
    }

    fn bound(&self, property: &str) -> Option<f64> {
        let value = self.rules.get(property)?;
        match self.field_type {
            FieldType::Date => value
                .as_str()
                .and_then(Timestamp::parse_iso8601)
                .map(|t| t.millis() as f64),
            _ => value.as_f64(),
        }
    }

    fn min_value(&self) -> Option<f64> {
        self.bound("minValue")
    }

    fn max_value(&self) -> Option<f64> {
        self.bound("maxValue")
    }

    /// The value in its stored form, or the rule it breaks ("must be …").
    pub fn check_value(&self, value: &Value) -> Result<Value, String> {
        match self.field_type {
            FieldType::Text | FieldType::Textarea => {
                let Value::String(text) = value else {
                    return Err("must be a string.".into());
                };
                if text.contains('\0') {
                    return Err(NUL_RULE.into());
                }
                let chars = text.chars().count() as u64;
                if let Some(min) = self.rules.get("minLength").and_then(Value::as_u64)
                    && chars < min
                {
                    return Err(format!("must be at least {min} characters long."));
                }
                if let Some(max) = self.rules.get("maxLength").and_then(Value::as_u64)
                    && chars > max
                {
                    return Err(format!("must be at most {max} characters long."));
                }
                Ok(value.clone())
            }
            FieldType::Number => {
                let Some(n) = value.as_f64().filter(|_| value.is_number()) else {
                    return Err("must be a number.".into());
                };
                self.check_range(n, |b| b.to_string())?;
                Ok(value.clone())
            }
            FieldType::Date => {
                let Some(t) = value.as_str().and_then(Timestamp::parse_iso8601) else {
                    return Err(
                        "must be an ISO 8601 date, like 2024-01-31 or 2024-01-31T10:20:30Z.".into(),
                    );
                };
                self.check_range(t.millis() as f64, |b| {
                    Timestamp::from_millis(b as i64).to_iso8601()
                })?;
                Ok(Value::String(t.to_iso8601()))
            }
            FieldType::Boolean => match value {
                Value::Bool(_) => Ok(value.clone()),
                _ => Err("must be true or false.".into()),
            },
            FieldType::SingleSelect => {
                if self.select_options().contains(value) {
                    Ok(value.clone())
                } else {
                    Err(format!("must be one of {}.", self.options_text()))
                }
            }
            FieldType::MultiSelect => {
                let Value::Array(items) = value else {
                    return Err(format!(
                        "must be an array of values from {}.",
                        self.options_text()
                    ));
                };
                let mut chosen: Vec<Value> = Vec::with_capacity(items.len());
                for item in items {
                    if !self.select_options().contains(item) {
                        return Err(format!(
                            "must only hold values from {}; {item} is not one.",
                            self.options_text()
                        ));
                    }
                    if !chosen.contains(item) {
                        chosen.push(item.clone());
                    }
                }
                Ok(Value::Array(chosen))
            }
        }
    }

    fn check_range(&self, n: f64, show: impl Fn(f64) -> String) -> Result<(), String> {
        if let Some(min) = self.min_value()
            && n < min
        {
            return Err(format!("must be at least {}.", show(min)));
        }
        if let Some(max) = self.max_value()
            && n > max
        {
            return Err(format!("must be at most {}.", show(max)));
        }
        Ok(())
    }

    fn options_text(&self) -> String {
        Value::Array(self.select_options().to_vec()).to_string()
    }
}

fn is_known_property(property: &str) -> bool {
    matches!(
        property,
        "isValueRequired"
            | "defaultValue"
            | "selectOptions"
            | "minValue"
            | "maxValue"
            | "minLength"
            | "maxLength"
    )
}

fn check_select_options(value: Value) -> Result<Value, FieldError> {
    let Value::Array(items) = &value else {
        return Err(schema_error("selectOptions must be an array."));
    };
    if items.is_empty() || items.len() > MAX_SELECT_OPTIONS {
        return Err(schema_error(format!(
            "selectOptions must hold 1 to {MAX_SELECT_OPTIONS} values."
        )));
    }
    for (i, item) in items.iter().enumerate() {
        if item.as_str().is_some_and(|s| s.contains('\0')) {
            return Err(schema_error(format!("selectOptions: {NUL_RULE}")));
        }
        if !matches!(item, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
            return Err(schema_error(
                "selectOptions may only hold strings, numbers and booleans.",
            ));
        }
        if items[..i].contains(item) {
            return Err(schema_error(format!(
                "selectOptions holds {item} more than once."
            )));
        }
    }
    Ok(value)
}

/// A field's name: 1–100 letters, digits, `_` or `-`, so it can follow `customMetadata.` in a
/// search and be a JSON path step without quoting rules.
pub fn validate_name(name: &str) -> Result<(), FieldError> {
    let invalid = |message: &str| FieldError::Invalid {
        field: "name",
        message: message.into(),
    };
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid("A name is 1 to 100 characters long."));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(invalid(
            "A name may only hold letters (a-z, A-Z), digits, '_' and '-'.",
        ));
    }
    if name == RESERVED_FIELD_NAME {
        return Err(invalid("This name is reserved."));
    }
    Ok(())
}

/// Neither database keeps U+0000 in text (PostgreSQL refuses it, in JSON too).
const NUL_RULE: &str = "must not contain the character U+0000.";

pub fn validate_label(label: &str) -> Result<(), FieldError> {
    if label.contains('\0') {
        return Err(FieldError::Invalid {
            field: "label",
            message: format!("A label {NUL_RULE}"),
        });
    }
    if label.trim().is_empty() || label.chars().count() > MAX_LABEL_CHARS {
        return Err(FieldError::Invalid {
            field: "label",
            message: format!("A label is 1 to {MAX_LABEL_CHARS} characters long."),
        });
    }
    Ok(())
}

pub fn validate_description(description: &str) -> Result<(), FieldError> {
    if description.contains('\0') {
        return Err(FieldError::Invalid {
            field: "description",
            message: format!("A description {NUL_RULE}"),
        });
    }
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(FieldError::Invalid {
            field: "description",
            message: format!("A description is at most {MAX_DESCRIPTION_CHARS} characters long."),
        });
    }
    Ok(())
}

/// A defined field. Deleted fields stay (soft delete) so their names are never reused.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomField {
    pub id: AssetId,
    pub name: String,
    pub label: String,
    pub description: Option<String>,
    pub schema: FieldSchema,
    pub deleted: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A requested change to a field (`PATCH /v1/customMetadataFields/{id}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldUpdate {
    pub label: Option<String>,
    /// `Some("")` removes the description.
    pub description: Option<String>,
    /// Merged into the schema (`FieldSchema::merged`).
    pub schema: Option<Value>,
}

impl FieldUpdate {
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.label.is_none() && self.schema.is_none() && self.description.is_none() {
            return Err(FieldError::NothingToChange);
        }
        if let Some(label) = &self.label {
            validate_label(label)?;
        }
        if let Some(description) = &self.description {
            validate_description(description)?;
        }
        Ok(())
    }

    /// The field after this change; label uniqueness is the store's to check.
    pub fn apply(&self, field: &CustomField, now: Timestamp) -> Result<CustomField, FieldError> {
        if field.deleted {
            return Err(FieldError::Deleted);
        }
        self.validate()?;
        let mut changed = field.clone();
        if let Some(label) = &self.label {
            changed.label = label.clone();
        }
        if let Some(description) = &self.description {
            changed.description = (!description.is_empty()).then(|| description.clone());
        }
        if let Some(patch) = &self.schema {
            changed.schema = field.schema.merged(patch)?;
        }
        changed.updated_at = now;
        Ok(changed)
    }
}

/// Values that break their field's rules: (field name, rule) pairs, in the request's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMetadata {
    pub errors: Vec<(String, String)>,
}

impl std::fmt::Display for InvalidMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Invalid custom metadata.")?;
        for (name, rule) in &self.errors {
            write!(f, " {name}: {rule}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidMetadata {}

/// Every field the library has defined, deleted ones included.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSet {
    fields: Vec<CustomField>,
}

impl FieldSet {
    pub fn new(fields: Vec<CustomField>) -> Self {
        FieldSet { fields }
    }

    pub fn active(&self) -> impl Iterator<Item = &CustomField> {
        self.fields.iter().filter(|f| !f.deleted)
    }

    pub fn get(&self, name: &str) -> Option<&CustomField> {
        self.active().find(|f| f.name == name)
    }

    /// Drops the values of fields that no longer exist, which are never shown.
    pub fn visible(&self, values: &mut Map<String, Value>) {
        if !values.is_empty() {
            values.retain(|name, _| self.get(name).is_some());
        }
    }

    /// Checks a request's `customMetadata` object (`null` = remove the value) and makes the
    /// write that applies it with the fields' defaults.
    pub fn write(&self, given: &Map<String, Value>) -> Result<MetadataWrite, InvalidMetadata> {
        let mut errors = Vec::new();
        let mut write = MetadataWrite {
            keep: Some(self.active().map(|f| f.name.clone()).collect()),
            ..MetadataWrite::default()
        };
        for (name, value) in given {
            let Some(field) = self.get(name) else {
                errors.push((
                    name.clone(),
                    "no custom metadata field has this name.".to_owned(),
                ));
                continue;
            };
            if value.is_null() {
                if field.schema.is_value_required() {
                    errors.push((
                        name.clone(),
                        "is required and cannot be removed.".to_owned(),
                    ));
                } else {
                    write.unset.push(name.clone());
                }
                continue;
            }
            match field.schema.check_value(value) {
                Ok(value) => {
                    write.set.insert(name.clone(), value);
                }
                Err(rule) => errors.push((name.clone(), rule)),
            }
        }
        if !errors.is_empty() {
            return Err(InvalidMetadata { errors });
        }
        for field in self.active() {
            if let Some(default) = field.schema.default_value() {
                write.defaults.insert(field.name.clone(), default.clone());
            }
        }
        Ok(write)
    }
}

/// A validated change to one version's custom metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetadataWrite {
    pub set: Map<String, Value>,
    pub unset: Vec<String>,
    /// Filled in for fields without a value, unless in `unset`.
    pub defaults: Map<String, Value>,
    /// The names that may stay; `None` keeps every key (no field set was consulted).
    pub keep: Option<Vec<String>>,
}

impl MetadataWrite {
    pub fn apply(&self, base: &Map<String, Value>) -> Map<String, Value> {
        let mut values: Map<String, Value> = match &self.keep {
            Some(keep) => base
                .iter()
                .filter(|(k, _)| keep.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            None => base.clone(),
        };
        for name in &self.unset {
            values.remove(name);
        }
        values.extend(self.set.clone());
        for (name, default) in &self.defaults {
            if !values.contains_key(name) && !self.unset.contains(name) {
                values.insert(name.clone(), default.clone());
            }
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(v: Value) -> Result<FieldSchema, FieldError> {
        FieldSchema::from_json(&v)
    }

    fn field(name: &str, s: Value) -> CustomField {
        CustomField {
            id: AssetId::generate(),
            name: name.into(),
            label: name.into(),
            description: None,
            schema: schema(s).expect("valid schema"),
            deleted: false,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn schemas_refuse_properties_of_other_types_and_bad_bounds() {
        assert!(schema(json!({"type": "Number", "minLength": 1})).is_err());
        assert!(schema(json!({"type": "Text", "minValue": 1})).is_err());
        assert!(schema(json!({"type": "Number", "minValue": 5, "maxValue": 1})).is_err());
        assert!(schema(json!({"type": "Date", "minValue": 5})).is_err());
        assert!(schema(json!({"type": "SingleSelect"})).is_err());
        assert!(schema(json!({"type": "SingleSelect", "selectOptions": [1, 1]})).is_err());
        assert!(schema(json!({"type": "Text", "isValueRequired": true})).is_err());
        assert!(schema(json!({"type": "Text", "colour": "red"})).is_err());
        assert!(schema(json!({"type": "Photo"})).is_err());
        assert!(schema(json!({"type": "Text", "maxLength": 3, "defaultValue": "long"})).is_err());
        let date = schema(json!({"type": "Date", "minValue": "2024-01-01"})).expect("valid");
        assert_eq!(
            date.to_json()["minValue"],
            json!("2024-01-01T00:00:00.000Z")
        );
    }

    #[test]
    fn values_are_checked_and_normalised() {
        let n = schema(json!({"type": "Number", "minValue": 1, "maxValue": 10})).expect("ok");
        assert!(n.check_value(&json!(5)).is_ok());
        assert!(n.check_value(&json!(11)).is_err());
        assert!(n.check_value(&json!("5")).is_err());
        let d = schema(json!({"type": "Date"})).expect("ok");
        assert_eq!(
            d.check_value(&json!("2024-03-04T05:06:07+01:00")),
            Ok(json!("2024-03-04T04:06:07.000Z"))
        );
        let s = schema(json!({"type": "SingleSelect", "selectOptions": ["a", 30]})).expect("ok");
        assert!(s.check_value(&json!(30)).is_ok());
        assert!(s.check_value(&json!("30")).is_err());
        let m = schema(json!({"type": "MultiSelect", "selectOptions": ["a", "b"]})).expect("ok");
        assert_eq!(
            m.check_value(&json!(["a", "a", "b"])),
            Ok(json!(["a", "b"]))
        );
        assert!(m.check_value(&json!("a")).is_err());
        let t = schema(json!({"type": "Text", "minLength": 2, "maxLength": 3})).expect("ok");
        assert!(t.check_value(&json!("é")).is_err());
        assert!(t.check_value(&json!("éé")).is_ok());
        assert!(t.check_value(&json!("a\u{0}")).is_err());
    }

    #[test]
    fn writes_merge_remove_and_fill_defaults() {
        let set = FieldSet::new(vec![
            field("a", json!({"type": "Text"})),
            field("b", json!({"type": "Number", "defaultValue": 1})),
            field(
                "c",
                json!({"type": "Boolean", "isValueRequired": true, "defaultValue": false}),
            ),
        ]);
        let base = Map::from_iter([("a".to_owned(), json!("x")), ("gone".to_owned(), json!(1))]);
        let write = set
            .write(&Map::from_iter([("b".to_owned(), Value::Null)]))
            .expect("valid");
        let out = write.apply(&base);
        assert_eq!(Value::Object(out), json!({"a": "x", "c": false}));
        let refused = set
            .write(&Map::from_iter([
                ("c".to_owned(), Value::Null),
                ("zz".to_owned(), json!(1)),
            ]))
            .expect_err("required and unknown");
        assert_eq!(refused.errors.len(), 2);
        assert!(
            refused
                .to_string()
                .starts_with("Invalid custom metadata. c:")
        );
    }

    #[test]
    fn schema_merge_keeps_replaces_and_removes() {
        let f = field("p", json!({"type": "Number", "minValue": 1, "maxValue": 9}));
        let merged = f
            .schema
            .merged(&json!({"type": "Number", "minValue": null, "maxValue": 20}))
            .expect("valid");
        assert_eq!(merged.to_json(), json!({"type": "Number", "maxValue": 20}));
        assert!(f.schema.merged(&json!({"type": "Text"})).is_err());
    }

    #[test]
    fn names_are_restricted() {
        assert!(validate_name("brand_2-x").is_ok());
        assert!(validate_name("a.b").is_err());
        assert!(validate_name("").is_err());
        assert!(validate_name(RESERVED_FIELD_NAME).is_err());
    }
}
