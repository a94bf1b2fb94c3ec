package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

func TestMain(m *testing.M) {
	conduittest.RegisterTemplate()
	pgtest.Main(m)
}

func cohort(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCommands(t *testing.T) {
	db := pgtest.NewDatabase(t, pgtest.Empty())
	url := "-database-url=" + db
	if code, out, errOut := cohort(t, url, "migrate"); code != exitOK || !strings.Contains(out, "at version") {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	pool := pgtest.NewPool(t, db)
	s, err := postgres.New(t.Context(), pool, postgres.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Append(t.Context(), "user-1", eventstore.NoStream, []eventstore.EventData{
		{Type: "accounts.UserRegistered", Data: []byte(`{"username":"jake"}`), Metadata: []byte(`{"user":"u1"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscribe(t.Context(), eventstore.SubscribeOptions{Name: "handler:users"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{url, "streams"}, exitOK, []string{"user-1", "1"}},
		{[]string{url, "streams", "-prefix", "article-"}, exitOK, []string{"STREAM"}},
		{[]string{url, "stream", "user-1"}, exitOK, []string{"accounts.UserRegistered", `{"username": "jake"}`, `{"user": "u1"}`}},
		{[]string{url, "stream", "-json", "user-1"}, exitOK, []string{`"Type":"accounts.UserRegistered"`}},
		{[]string{url, "stream", "missing"}, exitError, nil},
		{[]string{url, "subscriptions"}, exitOK, []string{"handler:users", "$all"}},
		{[]string{url, "reset"}, exitUsage, nil},
		{[]string{url, "frobnicate"}, exitUsage, nil},
		{[]string{url}, exitUsage, nil},
		{[]string{"-database-url=", "streams"}, exitUsage, nil},
	}
	for _, tt := range tests {
		code, out, errOut := cohort(t, tt.args...)
		if code != tt.code {
			t.Errorf("cohort %v: exit %d, want %d (stderr %q)", tt.args[1:], code, tt.code, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("cohort %v: output lacks %q:\n%s", tt.args[1:], w, out)
			}
		}
	}
	s.Close()
	if code, _, errOut := cohort(t, url, "reset", "-yes"); code != exitOK {
		t.Fatalf("reset -yes: %d %q", code, errOut)
	}
	if code, out, _ := cohort(t, url, "streams"); code != exitOK || strings.Contains(out, "user-1") {
		t.Fatalf("streams after reset: %d %q", code, out)
	}
}
