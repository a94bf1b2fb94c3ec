// Package pgmigrate applies numbered SQL migrations to one PostgreSQL
// schema.
//
// Migrations are files named "<version>_<name>.sql" (version a positive
// integer) in an fs.FS, usually embedded. Each file's text has
// "{{schema}}" replaced by the quoted schema name and runs in its own
// transaction together with its entry in the schema's schema_migrations
// table. Concurrent callers, in any process, serialize on an advisory
// lock, so each migration is applied exactly once.
package pgmigrate
