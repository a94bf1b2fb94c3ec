// Package pgmigrate applies numbered SQL migrations to one PostgreSQL
// schema.
//
// Migrations are files named "<version>_<name>.sql" (version a positive
// integer) in an fs.FS, usually embedded. Each file's text has
// "{{schema}}" replaced by the quoted schema name and runs in its own
// transaction together with its row in the schema's schema_migrations
// table: its version, name and checksum (the SHA-256 of its text). Apply
// applies every migration without a row, in version order, so one added
// later with a lower version than those applied is applied too; it refuses
// to run when an applied migration's file changed. Check verifies a schema
// at start-up without changing it. Concurrent callers, in any process,
// serialize on an advisory lock, so each migration is applied exactly
// once.
package pgmigrate
