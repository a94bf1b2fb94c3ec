package conduit_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/validation"
	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/postgres"
)

// appendLegacyUser stores a user as an earlier version registered them:
// their event, and their username's and email's claims in streams named
// in plain ("unique-<namespace>-<key>"), the value in the claim event.
func appendLegacyUser(t *testing.T, db *pgxpool.Pool, id, username, email string) {
	t.Helper()
	ctx := context.Background()
	store, err := postgres.New(ctx, db, postgres.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	appendJSON := func(stream, typ string, v any) {
		t.Helper()
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx, stream, eventstore.NoStream, []eventstore.EventData{{Type: typ, Data: data}}); err != nil {
			t.Fatal(err)
		}
	}
	appendJSON(accounts.AggregateType+"-"+id, "accounts.UserRegistered", accounts.UserRegistered{
		UserID: id, Username: username, Email: email, HashedPassword: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		UsernameClaim: 1, EmailClaim: 1})
	for ns, key := range map[string]string{accounts.UsernameNamespace: accounts.UsernameKey(username), accounts.EmailNamespace: accounts.EmailKey(email)} {
		appendJSON("unique-"+ns+"-"+key, unique.ClaimedEvent, unique.Claimed{Namespace: ns, Value: key, Owner: id})
	}
}

// TestClaimsUpgrade: on a database whose claims an earlier version named
// in plain, Conduit moves them to keyed streams at start: the names and
// emails stay taken, their owner can give them up, no stream id or claim
// event holds the email any longer, and a start with another key fails.
func TestClaimsUpgrade(t *testing.T) {
	ctx := context.Background()
	db := conduittest.NewDatabase(t)
	appendLegacyUser(t, db, "u-elder", "Elder", "Elder@example.com")
	app := conduittest.Start(t, db, nil)
	// The users projection catches up with the stored user.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if _, err := app.User(ctx, "u-elder"); err == nil {
			break
		} else if !errors.Is(err, conduit.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("the stored user in the read model: %v", err)
		}
	}

	_, err := app.RegisterUser(ctx, conduit.Registration{Username: "elder", Email: "other@example.com", Password: "password"})
	wantField(t, err, "username", validation.Taken)
	_, err = app.RegisterUser(ctx, conduit.Registration{Username: "other", Email: "elder@EXAMPLE.com", Password: "password"})
	wantField(t, err, "email", validation.Taken)
	assertNoClaimOf(t, db, "elder@example.com")

	if _, err := app.UpdateUser(ctx, "u-elder", conduit.UserUpdate{Username: new("elder2"), Email: new("elder2@example.com")}); err != nil {
		t.Fatalf("the upgraded user renames: %v", err)
	}
	if _, err := app.RegisterUser(ctx, conduit.Registration{Username: "elder", Email: "elder@example.com", Password: "password"}); err != nil {
		t.Fatalf("register with the name and email given up: %v", err)
	}

	other, err := conduit.New(ctx, conduit.Config{Store: conduittest.NewStore(t, db), DB: db, Password: conduittest.FastPasswords,
		ClaimsKey: []byte("another key, at least 32 bytes long"), MasterKey: conduittest.MasterKey})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	if err := other.Start(ctx); !errors.Is(err, unique.ErrWrongKey) {
		t.Fatalf("start with another claims key: %v, want ErrWrongKey", err)
	}
}

// assertNoClaimOf fails if a stream id in the event store, or an event
// of a claim stream, holds value, in any case.
func assertNoClaimOf(t *testing.T, db *pgxpool.Pool, value string) {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT s.stream_id, coalesce(e.data::text, '')
		FROM cohort.streams s LEFT JOIN cohort.events e ON e.stream_id = s.stream_id
			AND (s.stream_id LIKE 'unique-%' OR s.stream_id LIKE 'claim-%')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	claims := 0
	for rows.Next() {
		var stream, data string
		if err := rows.Scan(&stream, &data); err != nil {
			t.Fatal(err)
		}
		if data != "" {
			claims++
		}
		if strings.Contains(strings.ToLower(stream+" "+data), strings.ToLower(value)) {
			t.Errorf("stream %s holds %q: %s", stream, value, data)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if claims == 0 {
		t.Fatal("no claim events in the store")
	}
}
