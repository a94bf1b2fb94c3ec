package validation_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cohort-dev/cohort/aggregates/validation"
)

func TestErrorsAs(t *testing.T) {
	var errs validation.Errors
	if errs.Err() != nil {
		t.Fatal("empty Errors is an error")
	}
	errs.Add("username", validation.Blank)
	errs.Add("email", validation.Taken)
	wrapped := fmt.Errorf("register: %w", errs.Err())
	var got validation.Errors
	if !errors.As(wrapped, &got) {
		t.Fatal("errors.As does not find Errors")
	}
	if got["username"][0] != validation.Blank || got["email"][0] != validation.Taken {
		t.Fatalf("got %v", got)
	}
	if want := "validation failed: email has already been taken; username can't be blank"; got.Error() != want {
		t.Fatalf("Error() = %q, want %q", got.Error(), want)
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name     string
		value    string
		required bool
		want     string
	}{
		{"ok", "hello", true, ""},
		{"blank required", "  ", true, validation.Blank},
		{"empty optional", "", false, ""},
		{"too long", strings.Repeat("é", 11), false, validation.TooLong(10)},
		{"ten runes ok", strings.Repeat("é", 10), false, ""},
		{"nul", "a\x00b", false, validation.InvalidChars},
		{"escape", "a\x1bb", false, validation.InvalidChars},
		{"newlines ok", "a\r\n\tb", true, ""},
		{"emoji ok", "🐉 dragons", true, ""},
		{"invalid utf8", "a\xffb", false, validation.InvalidChars},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errs validation.Errors
			validation.Text(&errs, "f", tt.value, tt.required, 10)
			got := ""
			if len(errs["f"]) > 0 {
				got = errs["f"][0]
			}
			if got != tt.want {
				t.Fatalf("Text(%q) = %q, want %q", tt.value, got, tt.want)
			}
		})
	}
}
