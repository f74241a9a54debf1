-- Named transformations (`tr:n-<name>`, docs/delivery.md): an alias for a transformation
-- string, editable without changing URLs. Names are unique and case-sensitive. Every library
-- has `ik_ml_thumbnail`, the transformation of file objects' `thumbnail` URLs.
CREATE TABLE named_transformations (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    transformation TEXT NOT NULL,
    enabled        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
INSERT INTO named_transformations (id, name, transformation, enabled, created_at, updated_at)
VALUES ('000000000000000000000001', 'ik_ml_thumbnail', 'w-300,h-300,c-at_max', TRUE, 0, 0);
