package conduit_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/blog"
	"github.com/cohort-dev/cohort/conduit/conduittest"
	"github.com/cohort-dev/cohort/eventstore"
	"github.com/cohort-dev/cohort/eventstore/memory"
)

// conduitEvents returns a registry of Conduit's events and their names,
// with the keys of an application on the memory store (for the personal
// fields).
func conduitEvents(tb testing.TB) (*actors.Registry, []string) {
	tb.Helper()
	app, err := actors.New(actors.Config{Store: memory.New(), Personal: actors.Personal{MasterKey: conduittest.MasterKey}})
	if err != nil {
		tb.Fatal(err)
	}
	r := app.Registry()
	if err := errors.Join(accounts.RegisterEvents(r), blog.RegisterEvents(r)); err != nil {
		tb.Fatal(err)
	}
	actorstest.Start(tb, app)
	var names []string
	for _, ev := range []any{
		accounts.UserRegistered{}, accounts.UsernameChanged{}, accounts.UserEmailChanged{},
		accounts.UserPasswordChanged{}, accounts.UserBioChanged{}, accounts.UserImageChanged{},
		blog.AuthorCreated{}, blog.AuthorUsernameChanged{}, blog.AuthorFollowed{}, blog.AuthorUnfollowed{},
		blog.ArticlePublished{}, blog.ArticleUpdated{}, blog.ArticleDeleted{}, blog.ArticleFavorited{},
		blog.ArticleUnfavorited{}, blog.ArticleCommented{}, blog.CommentDeleted{},
	} {
		name, err := r.Name(ev)
		if err != nil {
			tb.Fatal(err)
		}
		names = append(names, name)
	}
	return r, names
}

// FuzzConduitEvents decodes stored events of every Conduit type (and of
// unknown ones) from arbitrary data and metadata: decoding never panics,
// an unknown type leaves the payload empty without failing, metadata never
// fails an event, and what decodes encodes back to the same name and
// decodes again to an equal payload.
func FuzzConduitEvents(f *testing.F) {
	seeds := []struct {
		typ        uint8
		data, meta string
	}{
		{0, `{"user_id":"u1","username":"jake","email":"jake@jake.jake","hashed_password":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}`, `{"command_id":"c1"}`},
		{10, `{"article_id":"a1","author_id":"u1","slug":"dragons","title":"Dragons","description":"d","body":"b","tag_list":["dragons","training"]}`, ``},
		{10, `{"article_id":"a1","tag_list":null}`, `null`},
		{11, `{"article_id":"a1","slug":"new","previous_slug":"old","tag_list":[]}`, `[]`},
		{13, `{"article_id":"a1","favorited_by":"u2","favorite_count":2}`, `{"x":1}`},
		{13, `{"favorite_count":"2"}`, `not json`},
		{13, `{"favorite_count":1e400}`, ``},
		{15, `{"comment_id":"c1","body":"\u00e9\ud800"}`, ``},
		{16, `{}`, ``},
		{200, `{"anything":true}`, ``},
		{0, `[]`, ``},
		{0, ``, ``},
		{0, `{"user_id":"u1"} trailing`, ``},
	}
	for _, s := range seeds {
		f.Add(s.typ, []byte(s.data), []byte(s.meta))
	}
	r, names := conduitEvents(f)
	f.Fuzz(func(t *testing.T, typ uint8, data, meta []byte) {
		name := "unknown.Event"
		if int(typ) < len(names) {
			name = names[typ]
		}
		rec := eventstore.RecordedEvent{ID: uuid.New(), StreamID: "s-1", StreamVersion: 1, Position: 7,
			Type: name, Data: data, Metadata: meta}
		ev, err := actors.DecodeEvent(r, rec)
		if ev.Type != name || ev.Position != 7 || ev.StreamID != "s-1" {
			t.Fatalf("envelope not kept: %+v", ev)
		}
		if int(typ) >= len(names) {
			if err != nil || ev.Payload != nil {
				t.Fatalf("unknown type: payload %v, error %v", ev.Payload, err)
			}
			return
		}
		_, plainErr := r.Decode(name, data)
		if (err == nil) != (plainErr == nil) {
			t.Fatalf("DecodeEvent error %v, but Decode error %v: metadata must not matter", err, plainErr)
		}
		if err != nil {
			if json.Valid(data) && isObject(data) && !errors.Is(err, actors.ErrDataKey) {
				// A JSON object fails only on a field of the wrong type, or
				// on a personal field sealed with a key there is not.
				var typeErr *json.UnmarshalTypeError
				if !errors.As(err, &typeErr) {
					t.Fatalf("%s from a JSON object: %v", name, err)
				}
			}
			return
		}
		gotName, enc, err := r.Encode(ev.Payload)
		if errors.Is(err, actors.ErrNoSubject) {
			return // personal data without a subject is never stored
		}
		if err != nil || gotName != name {
			t.Fatalf("encode %T: %q, %v", ev.Payload, gotName, err)
		}
		again, err := r.Decode(name, enc)
		if err != nil || !reflect.DeepEqual(again, ev.Payload) {
			t.Fatalf("%s: %+v encodes to %s, which decodes to %+v (%v)", name, ev.Payload, enc, again, err)
		}
	})
}

func isObject(data []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(data, &m) == nil && m != nil
}
