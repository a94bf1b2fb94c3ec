package validation

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text checks a free-text field: required (non-blank) or not, at most max
// characters, no NUL or other control characters except tab and line
// breaks. PostgreSQL cannot store NUL in text or jsonb, so such input is
// refused here rather than failing later.
func Text(errs *Errors, field, value string, required bool, max int) {
	switch {
	case required && strings.TrimSpace(value) == "":
		errs.Add(field, Blank)
	case utf8.RuneCountInString(value) > max:
		errs.Add(field, TooLong(max))
	case !Printable(value):
		errs.Add(field, InvalidChars)
	}
}

// TooLong is the message for a value longer than max characters.
func TooLong(max int) string { return fmt.Sprintf("is too long (maximum is %d characters)", max) }

// Printable reports whether s holds no control characters other than tab,
// carriage return and line feed, and is valid UTF-8.
func Printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}
