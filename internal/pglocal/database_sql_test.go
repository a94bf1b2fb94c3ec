package pglocal

import "testing"

// TestDatabaseSQL: the statements that create and drop a database quote
// its name and its template's.
func TestDatabaseSQL(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"create", CreateDatabaseSQL("app", ""), `CREATE DATABASE "app"`},
		{"create from template", CreateDatabaseSQL("app", "tmpl"), `CREATE DATABASE "app" TEMPLATE "tmpl"`},
		{"create quoted", CreateDatabaseSQL(`a"b`, `t"`), `CREATE DATABASE "a""b" TEMPLATE "t"""`},
		{"drop", DropDatabaseSQL("app"), `DROP DATABASE IF EXISTS "app" WITH (FORCE)`},
		{"drop quoted", DropDatabaseSQL(`a"b`), `DROP DATABASE IF EXISTS "a""b" WITH (FORCE)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
}
