package httpapi

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestVerifyRemembersTokens: a token verified once is not parsed again
// while it is valid; it is refused once it expired all the same, a
// malformed or forged one is never remembered, and a full memory is
// emptied.
func TestVerifyRemembersTokens(t *testing.T) {
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	newTokens := func(t *testing.T) *Tokens {
		t.Helper()
		tokens, err := NewTokens([]byte(strings.Repeat("s", MinSecretLength)), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		tokens.now = func() time.Time { return now }
		return tokens
	}
	t.Run("valid", func(t *testing.T) {
		tokens := newTokens(t)
		tok, err := tokens.Issue("u1", "hash")
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			c, err := tokens.Verify(tok)
			if err != nil || c.Subject != "u1" || tokens.Current(c, "hash") != nil {
				t.Fatalf("Verify = %+v, %v", c, err)
			}
		}
		if n := tokens.parsed.Load(); n != 1 {
			t.Errorf("a token verified three times was parsed %d times, want once", n)
		}
		if c, _ := tokens.Verify(tok); !errors.Is(tokens.Current(c, "new hash"), ErrRevokedToken) {
			t.Error("a remembered token is not revoked by a change of password")
		}
	})
	t.Run("expired", func(t *testing.T) {
		tokens := newTokens(t)
		tok, err := tokens.Issue("u1", "hash")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tokens.Verify(tok); err != nil {
			t.Fatal(err)
		}
		later := now.Add(time.Hour + tokenLeeway)
		tokens.now = func() time.Time { return later }
		if _, err := tokens.Verify(tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("a remembered token after its expiry: %v, want ErrInvalidToken", err)
		}
	})
	t.Run("forged", func(t *testing.T) {
		tokens := newTokens(t)
		tok, err := tokens.Issue("u1", "hash")
		if err != nil {
			t.Fatal(err)
		}
		forged := tok[:len(tok)-2] + "xx"
		for range 2 {
			if _, err := tokens.Verify(forged); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("forged token: %v, want ErrInvalidToken", err)
			}
		}
		if n := tokens.parsed.Load(); n != 2 {
			t.Errorf("a forged token given twice was parsed %d times, want each time", n)
		}
	})
	t.Run("full", func(t *testing.T) {
		tokens := newTokens(t)
		var first string
		for i := range verifiedTokensSize + 1 {
			tok, err := tokens.Issue(strings.Repeat("u", 1+i%7)+string(rune('a'+i%26))+time.Duration(i).String(), "hash")
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = tok
			}
			if _, err := tokens.Verify(tok); err != nil {
				t.Fatal(err)
			}
		}
		if got := len(tokens.verified.claims); got != 1 {
			t.Errorf("%d tokens remembered after the memory filled up, want 1", got)
		}
		if _, err := tokens.Verify(first); err != nil {
			t.Errorf("a forgotten token: %v", err)
		}
	})
}
