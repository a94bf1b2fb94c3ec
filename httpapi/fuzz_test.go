package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/golang-jwt/jwt/v5"

	"github.com/cohort-dev/cohort/aggregates/validation"
)

// FuzzDecode feeds request bodies to decode: it never panics, fails only
// with a validation error or errTooLarge, accepts exactly the JSON
// documents that hold the wrapper as an object of the right shape, and
// calls a body too large only when it is.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"user":{"username":"jake","email":"jake@jake.jake","password":"jakejake"}}`,
		`{"user":{"email":"jake@jake.jake","password":"jakejake"}}`,
		`{"article":{"title":"How to train your dragon","description":"Ever wonder how?","body":"You have to believe","tagList":["reactjs","angularjs","dragons"]}}`,
		`{"article":{"title":null,"tagList":null}}`,
		`{"comment":{"body":"Thank you so much!"}}`,
		`{"user":{"bio":"I like to skateboard","image":"https://i.stack.imgur.com/xHWG8.jpg"}}`,
		`{"user":null}`, `{"user":[]}`, `{"user":{"username":7}}`, `{"article":{"tagList":"dragons"}}`,
		`{"user":{}} {"user":{}}`, `{"user":{}}]`, `{"user":{}`, ``, `null`, `[]`, `"user"`, "\xff",
		`{"user":{"username":"\u0000"}}`, `{"a":1,"a":2}`,
	} {
		f.Add([]byte(seed), uint8(0), uint16(0))
	}
	f.Add([]byte(`{"user":{"username":"`+strings.Repeat("x", 80)+`"}}`), uint8(0), uint16(64))
	f.Fuzz(func(t *testing.T, body []byte, which uint8, limit uint16) {
		s := &server{maxBody: DefaultMaxBodyBytes}
		if limit > 0 {
			s.maxBody = int64(limit)
		}
		var err error
		var wrapper string
		var got any
		switch which % 4 {
		case 0:
			wrapper = "user"
			got, err = fuzzDecode[credentials](s, body, wrapper)
		case 1:
			wrapper = "user"
			got, err = fuzzDecode[userUpdate](s, body, wrapper)
		case 2:
			wrapper = "article"
			got, err = fuzzDecode[articleInput](s, body, wrapper)
		default:
			wrapper = "comment"
			got, err = fuzzDecode[struct {
				Body string `json:"body"`
			}](s, body, wrapper)
		}
		var verr validation.Errors
		switch {
		case err == nil:
			if int64(len(body)) > s.maxBody {
				t.Fatalf("accepted a body of %d bytes over the limit of %d", len(body), s.maxBody)
			}
			// An accepted document is one JSON value, an object that
			// holds the wrapper, and the wrapped value is what a plain
			// unmarshal into the same type gives.
			var doc map[string]json.RawMessage
			if e := json.Unmarshal(body, &doc); e != nil {
				t.Fatalf("accepted %q, which is not a JSON object: %v", body, e)
			}
			raw, ok := doc[wrapper]
			if !ok || string(raw) == "null" {
				t.Fatalf("accepted %q without %q", body, wrapper)
			}
			want, _ := json.Marshal(got)
			again, e := reDecode(got, raw)
			if e != nil || !bytes.Equal(want, again) {
				t.Fatalf("decoded %s, a plain unmarshal gives %s (%v)", want, again, e)
			}
		case errors.Is(err, errTooLarge):
			if int64(len(body)) <= s.maxBody {
				t.Fatalf("a body of %d bytes is too large for a limit of %d", len(body), s.maxBody)
			}
		case errors.As(err, &verr):
			if len(verr) == 0 {
				t.Fatal("an empty validation error")
			}
		default:
			t.Fatalf("error %v (%T) is neither a validation error nor errTooLarge", err, err)
		}
	})
}

// fuzzDecode runs decode on a POST request with body.
func fuzzDecode[T any](s *server, body []byte, wrapper string) (T, error) {
	r := httptest.NewRequest(http.MethodPost, "/api/x", bytes.NewReader(body))
	return decode[T](s, httptest.NewRecorder(), r, wrapper)
}

// reDecode unmarshals raw into a fresh value of v's type and marshals it.
func reDecode(v any, raw json.RawMessage) ([]byte, error) {
	var err error
	var out any
	switch v.(type) {
	case credentials:
		var x credentials
		err = json.Unmarshal(raw, &x)
		out = x
	case userUpdate:
		var x userUpdate
		err = json.Unmarshal(raw, &x)
		out = x
	case articleInput:
		var x articleInput
		err = json.Unmarshal(raw, &x)
		out = x
	default:
		var x struct {
			Body string `json:"body"`
		}
		err = json.Unmarshal(raw, &x)
		out = x
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// FuzzPage: any query string either fails with a validation error or
// gives a limit within 1..100 and an offset of at least 0.
func FuzzPage(f *testing.F) {
	for _, seed := range []string{"", "limit=20&offset=0", "limit=0", "limit=-1", "limit=1000", "offset=-5",
		"limit=abc", "limit=9223372036854775808", "limit=%zz", "offset=1e3", "limit=1&limit=500", ";"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest(http.MethodGet, "/api/articles", nil)
		r.URL.RawQuery = raw
		q, err := query(r)
		if err != nil {
			return
		}
		limit, offset, err := page(q, defaultLimit)
		var verr validation.Errors
		switch {
		case err != nil && !errors.As(err, &verr):
			t.Fatalf("page(%q): %v is not a validation error", raw, err)
		case err == nil && (limit < 1 || limit > maxLimit || offset < 0):
			t.Fatalf("page(%q) = limit %d, offset %d", raw, limit, offset)
		}
	})
}

// fuzzNow is the fixed time of FuzzTokens.
var fuzzNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// FuzzTokens signs tokens with fuzzed claims, algorithms and secrets and
// checks that Verify accepts exactly those Issue could have made: HS256
// with our secret, our issuer, a subject, and an expiry not past (a
// minute's leeway). Arbitrary text never verifies, and a token whose
// bytes change verifies only if its decoded segments did not change.
func FuzzTokens(f *testing.F) {
	f.Add("user-1", "conduit", int64(3600), uint8(0), false, "", uint16(0), byte(0))
	f.Add("", "conduit", int64(3600), uint8(0), false, "", uint16(0), byte(0))
	f.Add("user-1", "Conduit", int64(3600), uint8(0), false, "", uint16(0), byte(0))
	f.Add("user-1", "conduit", int64(-3600), uint8(0), false, "", uint16(0), byte(0))
	f.Add("user-1", "conduit", int64(-30), uint8(0), false, "", uint16(0), byte(0))
	f.Add("user-1", "conduit", int64(3600), uint8(1), false, "", uint16(0), byte(0))
	f.Add("user-1", "conduit", int64(3600), uint8(3), false, "", uint16(0), byte(0))
	f.Add("user-1", "conduit", int64(3600), uint8(0), true, "", uint16(0), byte(0))
	f.Add("user-1", "conduit", int64(3600), uint8(0), false, "", uint16(40), byte('A'))
	f.Add("ü", "conduit", int64(3600), uint8(4), false, "", uint16(0), byte(0))
	f.Add("", "", int64(0), uint8(0), false, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", uint16(0), byte(0))
	f.Fuzz(func(t *testing.T, sub, iss string, expIn int64, alg uint8, otherSecret bool, raw string, at uint16, b byte) {
		secret := []byte(strings.Repeat("s", MinSecretLength))
		tokens, err := NewTokens(secret, 0)
		if err != nil {
			t.Fatal(err)
		}
		tokens.now = func() time.Time { return fuzzNow }

		// Arbitrary text.
		if c, err := tokens.Verify(raw); err == nil {
			t.Fatalf("Verify(%q) accepted an arbitrary text as %q", raw, c.Subject)
		} else if !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("Verify(%q): %v does not wrap ErrInvalidToken", raw, err)
		}

		// Round trip.
		if sub != "" && utf8.ValidString(sub) {
			tok, err := tokens.Issue(sub, "hash of "+sub)
			if err != nil {
				t.Fatal(err)
			}
			c, err := tokens.Verify(tok)
			if err != nil || c.Subject != sub {
				t.Fatalf("Issue(%q) verifies as %q, %v", sub, c.Subject, err)
			}
			if err := tokens.Current(c, "hash of "+sub); err != nil {
				t.Fatalf("Issue(%q) is not current for its password: %v", sub, err)
			}
			if err := tokens.Current(c, "another hash"); !errors.Is(err, ErrRevokedToken) {
				t.Fatalf("Issue(%q) is current for another password: %v", sub, err)
			}
		}

		// Signed by someone else, some other way.
		expIn %= 10 * 365 * 24 * 3600
		if d := expIn + 60; d > -2 && d < 2 {
			expIn += 5 // not on the edge of the leeway
		}
		claims := jwt.RegisteredClaims{Subject: sub, Issuer: iss, ExpiresAt: jwt.NewNumericDate(fuzzNow.Add(time.Duration(expIn) * time.Second))}
		methods := []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS384, jwt.SigningMethodHS512, jwt.SigningMethodNone}
		method := methods[int(alg)%len(methods)]
		key := any(secret)
		if otherSecret {
			key = []byte(strings.Repeat("t", MinSecretLength))
		}
		if method == jwt.SigningMethodNone {
			key = jwt.UnsafeAllowNoneSignatureType
		}
		tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		valid := method == jwt.SigningMethodHS256 && !otherSecret && iss == issuer && sub != "" && expIn > -60
		c, err := tokens.Verify(tok)
		id := c.Subject
		switch {
		case valid && err != nil:
			t.Fatalf("rejected a valid token (%+v): %v", claims, err)
		case valid && id != sub && utf8.ValidString(sub):
			t.Fatalf("verified as %q, want %q", id, sub)
		case !valid && err == nil:
			t.Fatalf("accepted %s token with %+v, other secret %v", method.Alg(), claims, otherSecret)
		case valid && tokens.Current(c, "") == nil:
			t.Fatalf("a token without a password stamp is current")
		}

		// Tampering.
		if !valid || len(tok) == 0 {
			return
		}
		i := int(at) % len(tok)
		if tok[i] == b {
			return
		}
		tampered := tok[:i] + string(b) + tok[i+1:]
		if _, err := tokens.Verify(tampered); err == nil && !sameSegments(tok, tampered) {
			t.Fatalf("accepted %q, tampered from %q", tampered, tok)
		}
	})
}

// sameSegments reports whether two compact JWTs decode to the same bytes,
// segment by segment (base64 lets some characters differ in unused bits).
func sameSegments(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	if len(as) != len(bs) {
		return false
	}
	for i := range as {
		x, errX := base64.RawURLEncoding.DecodeString(as[i])
		y, errY := base64.RawURLEncoding.DecodeString(bs[i])
		if errX != nil || errY != nil || !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}

// FuzzParam: a slug reaches its handler as it was before escaping,
// slashes and percent signs included.
func FuzzParam(f *testing.F) {
	for _, seed := range []string{"how-to-train-your-dragon", "a/b", "100%", "%2F", "ü", "a b", "?x=1#y", ".."} {
		f.Add(seed)
	}
	router := chi.NewRouter()
	var got string
	router.Get("/api/articles/{slug}", func(w http.ResponseWriter, r *http.Request) { got = param(r, "slug") })
	f.Fuzz(func(t *testing.T, slug string) {
		if slug == "" {
			return
		}
		got = "\x00unset"
		w := httptest.NewRecorder()
		router.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/articles/"+url.PathEscape(slug), nil))
		if w.Code != http.StatusOK || got != slug {
			t.Fatalf("slug %q: status %d, handler got %q", slug, w.Code, got)
		}
	})
}
