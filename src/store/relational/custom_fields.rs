//! Custom metadata field definitions: one small table, every change one transaction with its
//! event. Names are unique among all fields (deleted ones too), labels among live ones; both
//! are checked inside the transaction, with unique indexes behind the checks for PostgreSQL
//! nodes racing each other.

use serde_json::{Value, json};

use super::{Engine, RelationalStore, all, append_event, exec, is_unique_violation, one};
use crate::model::{AssetId, CustomField, FieldSchema, FieldUpdate, Principal, Timestamp};
use crate::store::sql::{RowAccess, q};
use crate::store::{StoreError, event};

const FIELD_COLUMNS: &str = "id, name, label, description, schema, deleted, created_at, updated_at";

fn field_from_row(row: &impl RowAccess) -> Result<CustomField, StoreError> {
    let schema_text = row.text("schema")?;
    let schema_json: Value = serde_json::from_str(&schema_text)
        .map_err(|e| StoreError::Corrupt(format!("custom metadata field schema: {e}")))?;
    let schema = FieldSchema::from_json(&schema_json)
        .map_err(|e| StoreError::Corrupt(format!("custom metadata field schema: {e}")))?;
    Ok(CustomField {
        id: AssetId::from_stored(row.text("id")?),
        name: row.text("name")?,
        label: row.text("label")?,
        description: row.opt_text("description")?,
        schema,
        deleted: row.flag("deleted")?,
        created_at: Timestamp::from_millis(row.int("created_at")?),
        updated_at: Timestamp::from_millis(row.int("updated_at")?),
    })
}

fn field_event(field: &CustomField) -> Value {
    json!({ "name": field.name, "label": field.label, "schema": field.schema.to_json() })
}

async fn label_taken<E: Engine>(
    tx: &mut E::Tx,
    label: &str,
    except: Option<&AssetId>,
) -> Result<bool, StoreError> {
    let rows = all::<E>(
        tx,
        q("SELECT id FROM custom_metadata_fields WHERE label = $1 AND deleted = $2")
            .arg(label)
            .arg(false),
    )
    .await?;
    for row in rows {
        if Some(row.text("id")?.as_str()) != except.map(AssetId::as_str) {
            return Ok(true);
        }
    }
    Ok(false)
}

impl<E: Engine> RelationalStore<E> {
    pub(super) async fn read_custom_fields(&self) -> Result<Vec<CustomField>, StoreError> {
        self.engine
            .read(&q(&format!(
                "SELECT {FIELD_COLUMNS} FROM custom_metadata_fields ORDER BY created_at, id"
            )))
            .await?
            .iter()
            .map(field_from_row)
            .collect()
    }

    pub(super) async fn insert_custom_field(
        &self,
        field: &CustomField,
        actor: &Principal,
    ) -> Result<(), StoreError> {
        let mut tx = self.engine.begin().await?;
        let name_taken = one::<E>(
            &mut tx,
            q("SELECT id FROM custom_metadata_fields WHERE name = $1").arg(field.name.as_str()),
        )
        .await?
        .is_some();
        if name_taken {
            return Err(StoreError::FieldNameTaken);
        }
        if label_taken::<E>(&mut tx, &field.label, None).await? {
            return Err(StoreError::FieldLabelTaken);
        }
        let inserted = exec::<E>(
            &mut tx,
            q(&format!(
                "INSERT INTO custom_metadata_fields ({FIELD_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .arg(&field.id)
            .arg(field.name.as_str())
            .arg(field.label.as_str())
            .arg(field.description.clone())
            .arg(field.schema.to_json().to_string())
            .arg(false)
            .arg(field.created_at)
            .arg(field.updated_at),
        )
        .await;
        match inserted {
            Ok(_) => {}
            // Another node inserted the same name or label since the checks above.
            Err(e) if is_unique_violation(&e) => return Err(self.which_is_taken(field).await?),
            Err(e) => return Err(e),
        }
        append_event::<E>(
            &mut tx,
            event::FIELD_CREATED,
            field.id.as_str(),
            actor,
            field_event(field),
            field.created_at,
        )
        .await?;
        E::commit(tx).await
    }

    async fn which_is_taken(&self, field: &CustomField) -> Result<StoreError, StoreError> {
        let by_name = self
            .engine
            .read(
                &q("SELECT id FROM custom_metadata_fields WHERE name = $1")
                    .arg(field.name.as_str()),
            )
            .await?;
        Ok(if by_name.is_empty() {
            StoreError::FieldLabelTaken
        } else {
            StoreError::FieldNameTaken
        })
    }

    pub(super) async fn change_custom_field(
        &self,
        id: &AssetId,
        update: &FieldUpdate,
        actor: &Principal,
    ) -> Result<Option<CustomField>, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.engine.begin().await?;
        let lock = E::dialect().lock_row;
        let Some(row) = one::<E>(
            &mut tx,
            q(&format!(
                "SELECT {FIELD_COLUMNS} FROM custom_metadata_fields WHERE id = $1{lock}"
            ))
            .arg(id),
        )
        .await?
        else {
            return Ok(None);
        };
        let field = field_from_row(&row)?;
        let changed = update.apply(&field, now)?;
        if changed.label != field.label
            && label_taken::<E>(&mut tx, &changed.label, Some(id)).await?
        {
            return Err(StoreError::FieldLabelTaken);
        }
        let written = exec::<E>(
            &mut tx,
            q(
                "UPDATE custom_metadata_fields SET label = $1, description = $2, schema = $3, \
               updated_at = $4 WHERE id = $5",
            )
            .arg(changed.label.as_str())
            .arg(changed.description.clone())
            .arg(changed.schema.to_json().to_string())
            .arg(now)
            .arg(id),
        )
        .await;
        match written {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(StoreError::FieldLabelTaken),
            Err(e) => return Err(e),
        }
        append_event::<E>(
            &mut tx,
            event::FIELD_UPDATED,
            id.as_str(),
            actor,
            field_event(&changed),
            now,
        )
        .await?;
        E::commit(tx).await?;
        Ok(Some(changed))
    }

    pub(super) async fn remove_custom_field(
        &self,
        id: &AssetId,
        actor: &Principal,
    ) -> Result<bool, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.engine.begin().await?;
        let marked = exec::<E>(
            &mut tx,
            q(
                "UPDATE custom_metadata_fields SET deleted = $1, updated_at = $2 \
               WHERE id = $3 AND deleted = $4",
            )
            .arg(true)
            .arg(now)
            .arg(id)
            .arg(false),
        )
        .await?;
        if marked == 0 {
            return Ok(false);
        }
        append_event::<E>(
            &mut tx,
            event::FIELD_DELETED,
            id.as_str(),
            actor,
            json!({}),
            now,
        )
        .await?;
        E::commit(tx).await?;
        Ok(true)
    }
}
