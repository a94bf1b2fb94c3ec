package password_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cohort-dev/cohort/conduit/password"
)

// fast keeps the tests quick; production uses DefaultParams.
var fast = password.Params{Memory: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h, err := password.NewHasher(fast)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("p", 100)
	tests := []struct {
		name, hashOf, verify string
		want                 error
	}{
		{"match", "password", "password", nil},
		{"mismatch", "password", "Password", password.ErrMismatch},
		{"unicode", "pässwörd🐉", "pässwörd🐉", nil},
		// bcrypt would ignore everything after byte 72.
		{"long passwords differ after 72 bytes", long + "a", long + "b", password.ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := h.Hash(ctx, tt.hashOf)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
				t.Fatalf("encoding %q", enc)
			}
			if err := h.Verify(ctx, tt.verify, enc); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSaltedAndParamsTravelWithHash(t *testing.T) {
	ctx := context.Background()
	old, _ := password.NewHasher(fast)
	a, _ := old.Hash(ctx, "password")
	b, _ := old.Hash(ctx, "password")
	if a == b {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	stronger, _ := password.NewHasher(password.Params{Memory: 128, Time: 2, Threads: 1})
	if err := stronger.Verify(ctx, "password", a); err != nil {
		t.Fatalf("a hasher with other parameters cannot verify an old hash: %v", err)
	}
}

func TestMalformed(t *testing.T) {
	ctx := context.Background()
	h, _ := password.NewHasher(fast)
	for _, enc := range []string{
		"",
		"plain",
		"$2a$10$abcdefghijklmnopqrstuv",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
	} {
		if err := h.Verify(ctx, "password", enc); !errors.Is(err, password.ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v, want ErrMalformedHash", enc, err)
		}
	}
	if err := h.VerifyNothing(ctx, "password"); !errors.Is(err, password.ErrMismatch) {
		t.Errorf("VerifyNothing = %v", err)
	}
}

func TestParamsValidate(t *testing.T) {
	if err := password.DefaultParams.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []password.Params{{}, {Memory: 4, Time: 1, Threads: 1}, {Memory: 64, Time: 0, Threads: 1}} {
		if _, err := password.NewHasher(p); err == nil {
			t.Errorf("NewHasher(%+v) accepted", p)
		}
	}
}

func BenchmarkDefaultParams(b *testing.B) {
	h, _ := password.NewHasher(password.DefaultParams)
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "password"); err != nil {
			b.Fatal(err)
		}
	}
}
