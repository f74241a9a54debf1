//! Named transformations: one small table, every change one transaction with its event. Names
//! are unique (a unique index behind the check, for PostgreSQL nodes racing each other).

use serde_json::json;

use super::{Engine, RelationalStore, append_event, exec, is_unique_violation, one};
use crate::model::transform::NamedTransformation;
use crate::model::{AssetId, Principal, Timestamp};
use crate::store::sql::{RowAccess, q};
use crate::store::{StoreError, event};

fn named_from_row(row: &impl RowAccess) -> Result<NamedTransformation, StoreError> {
    Ok(NamedTransformation {
        id: AssetId::from_stored(row.text("id")?),
        name: row.text("name")?,
        transformation: row.text("transformation")?,
        enabled: row.flag("enabled")?,
        created_at: Timestamp::from_millis(row.int("created_at")?),
        updated_at: Timestamp::from_millis(row.int("updated_at")?),
    })
}

impl<E: Engine> RelationalStore<E> {
    pub(super) async fn read_named_transformations(
        &self,
    ) -> Result<Vec<NamedTransformation>, StoreError> {
        self.engine
            .read(&q(
                "SELECT id, name, transformation, enabled, created_at, updated_at
                 FROM named_transformations ORDER BY name",
            ))
            .await?
            .iter()
            .map(named_from_row)
            .collect()
    }

    pub(super) async fn write_named_transformation(
        &self,
        named: &NamedTransformation,
        created: bool,
        actor: &Principal,
    ) -> Result<(), StoreError> {
        let mut tx = self.engine.begin().await?;
        let taken = one::<E>(
            &mut tx,
            q("SELECT id FROM named_transformations WHERE name = $1 AND id <> $2")
                .arg(named.name.as_str())
                .arg(named.id.as_str()),
        )
        .await?
        .is_some();
        if taken {
            return Err(StoreError::NamedTransformationTaken);
        }
        let statement =
            if created {
                q("INSERT INTO named_transformations (id, name, transformation, enabled, created_at,
                   updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
            } else {
                q(
                    "UPDATE named_transformations SET name = $2, transformation = $3, enabled = $4,
                   created_at = $5, updated_at = $6 WHERE id = $1",
                )
            };
        let written = exec::<E>(
            &mut tx,
            statement
                .arg(named.id.as_str())
                .arg(named.name.as_str())
                .arg(named.transformation.as_str())
                .arg(named.enabled)
                .arg(named.created_at)
                .arg(named.updated_at),
        )
        .await;
        match written {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::NamedTransformationTaken),
            other => other?,
        };
        append_event::<E>(
            &mut tx,
            event::NAMED_TRANSFORMATION_SAVED,
            named.id.as_str(),
            actor,
            json!({
                "name": named.name,
                "transformation": named.transformation,
                "enabled": named.enabled,
            }),
            named.updated_at,
        )
        .await?;
        E::commit(tx).await
    }

    pub(super) async fn remove_named_transformation(
        &self,
        id: &str,
        actor: &Principal,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.engine.begin().await?;
        let deleted = exec::<E>(
            &mut tx,
            q("DELETE FROM named_transformations WHERE id = $1").arg(id),
        )
        .await?;
        if deleted == 0 {
            return Ok(false);
        }
        append_event::<E>(
            &mut tx,
            event::NAMED_TRANSFORMATION_DELETED,
            id,
            actor,
            json!({}),
            at,
        )
        .await?;
        E::commit(tx).await?;
        Ok(true)
    }
}
