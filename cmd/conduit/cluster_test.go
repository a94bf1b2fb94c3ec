package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
	"github.com/cohort-dev/cohort/internal/tlstest"
)

// TestClusterOfTwoProcesses: two Conduits on one database started with
// -cluster form a cluster (each its own gRPC port 0), and either answers
// any request the same: a user registered through one logs in through
// the other, an article written through one is read and refused to
// another author through both, with the same statuses. The second joins
// with -cluster-ttl 30s, which its row in the members table keeps. The
// members talk over mutual TLS (-cluster-tls-*), each with its own
// certificate of one CA.
func TestClusterOfTwoProcesses(t *testing.T) {
	conn := pgtest.NewDatabase(t, pgtest.Empty())
	ca := tlstest.NewCA(t)
	env := map[string]string{"DATABASE_URL": conn, "JWT_SECRET": "cmd/conduit cluster test secret!!",
		"CLAIMS_KEY": "cmd/conduit tests' claims key...", "MASTER_KEY": hex.EncodeToString(testMasterKey)}
	var apis []string
	for i := range 2 {
		args := []string{"-addr", "127.0.0.1:0", "-admin-addr", "off", "-data", t.TempDir(),
			"-hash-memory", "64", "-hash-time", "1", "-cluster", "conduit-test"}
		cert, key, caFile := ca.WriteFiles(t, t.TempDir(), "127.0.0.1")
		args = append(args, "-cluster-tls-cert", cert, "-cluster-tls-key", key, "-cluster-tls-ca", caFile)
		if i == 1 {
			args = append(args, "-cluster-ttl", "30s", "-cluster-heartbeat", "500ms")
		}
		cfg, err := ParseConfig(args, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		m := NewMain(cfg, io.Discard)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := m.Close(ctx); err != nil {
				t.Error(err)
			}
		})
		if err := m.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		apis = append(apis, "http://"+m.Addr().String()+"/api")
	}
	db, err := pgx.Connect(t.Context(), conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	var ttls []time.Duration
	if err := db.QueryRow(t.Context(), `SELECT array_agg(ttl ORDER BY ttl) FROM `+clusterpg.DefaultSchema+`.members WHERE status = 'alive'`).Scan(&ttls); err != nil {
		t.Fatal(err)
	}
	if len(ttls) != 2 || ttls[0] != 10*time.Second || ttls[1] != 30*time.Second {
		t.Errorf("members' TTLs %v, want [10s 30s] (the default, and -cluster-ttl 30s)", ttls)
	}

	call := func(api, method, path, token string, body any) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			data, _ := json.Marshal(body)
			rd = bytes.NewReader(data)
		}
		req, err := http.NewRequestWithContext(t.Context(), method, api+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Token "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	register := func(api, name string) string {
		t.Helper()
		user := map[string]any{"user": map[string]any{"username": name, "email": name + "@example.com", "password": "password1"}}
		if code, out := call(api, "POST", "/users", "", user); code != http.StatusCreated {
			t.Fatalf("register %s: %d %v", name, code, out)
		}
		code, out := call(apis[1], "POST", "/users/login", "", map[string]any{"user": map[string]any{"email": name + "@example.com", "password": "password1"}})
		if code != http.StatusOK {
			t.Fatalf("log in %s through the other member: %d %v", name, code, out)
		}
		return out["user"].(map[string]any)["token"].(string)
	}
	alice, bob := register(apis[0], "alice"), register(apis[1], "bob")
	for i := range 6 { // several articles: their aggregates spread over both members
		article := map[string]any{"article": map[string]any{"title": fmt.Sprintf("Cluster %d", i), "description": "d", "body": "b"}}
		code, out := call(apis[i%2], "POST", "/articles", alice, article)
		if code != http.StatusCreated {
			t.Fatalf("create article %d: %d %v", i, code, out)
		}
		slug := out["article"].(map[string]any)["slug"].(string)
		for j, api := range apis {
			if code, _ := call(api, "GET", "/articles/"+slug, "", nil); code != http.StatusOK {
				t.Errorf("article %d through member %d: %d, want 200", i, j, code)
			}
			edit := map[string]any{"article": map[string]any{"body": "edited by bob"}}
			if code, out := call(api, "PUT", "/articles/"+slug, bob, edit); code != http.StatusForbidden {
				t.Errorf("another author edits article %d through member %d: %d %v, want 403", i, j, code, out)
			}
			edit = map[string]any{"article": map[string]any{"body": fmt.Sprintf("edited through %d", j)}}
			if code, out := call(api, "PUT", "/articles/"+slug, alice, edit); code != http.StatusOK {
				t.Errorf("the author edits article %d through member %d: %d %v, want 200", i, j, code, out)
			}
		}
	}
}
