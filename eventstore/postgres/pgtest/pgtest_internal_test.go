package pgtest

import (
	"strings"
	"testing"
)

func TestWithDatabase(t *testing.T) {
	cases := map[string]string{
		"postgres://u:p@h:5/old?sslmode=disable": "postgres://u:p@h:5/new%20db?sslmode=disable",
		"postgresql://h/":                        "postgresql://h/new%20db",
		"host=h user=u dbname=old":               "host=h user=u dbname=old dbname='new db'",
	}
	for in, want := range cases {
		if got := withDatabase(in, "new db"); got != want {
			t.Errorf("withDatabase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDatabaseName(t *testing.T) {
	name := databaseName("TestFoo/sub_test#01 (é)")
	if !strings.HasPrefix(name, "t_testfoo_sub_test_01_") || len(name) > 63 {
		t.Errorf("databaseName = %q", name)
	}
	long := databaseName(strings.Repeat("TestVeryLong", 20))
	if len(long) > 63 {
		t.Errorf("databaseName too long: %q (%d bytes)", long, len(long))
	}
	if a, b := databaseName("x"), databaseName("x"); a == b {
		t.Error("databaseName repeats itself")
	}
}

func TestTemplateErrors(t *testing.T) {
	s := serverFor(t)
	RegisterTemplate("twice", nil)
	RegisterTemplate("twice", nil)
	for name, want := range map[string]string{
		"unknown": "not registered",
		"twice":   "more than once",
		"broken":  "migration 3 failed",
	} {
		err := s.clone(t.Context(), databaseName(t.Name()), name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("clone from %q = %v, want an error saying %q", name, err, want)
		}
	}
}
