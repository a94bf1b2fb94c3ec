package accounts

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/cohort-dev/cohort/aggregates/validation"
)

// Limits on a user's fields.
const (
	MaxUsernameLength = 64   // characters
	MaxEmailLength    = 254  // characters (RFC 5321's path limit)
	MinPasswordLength = 8    // bytes
	MaxPasswordLength = 1024 // bytes; longer input is refused, never truncated
	MaxBioLength      = 4096 // characters
	MaxImageLength    = 2048 // characters
)

// ValidateUsername checks a username: 1 to MaxUsernameLength letters,
// digits, underscores and hyphens (usernames appear in URLs).
func ValidateUsername(errs *validation.Errors, username string) {
	switch {
	case username == "":
		errs.Add("username", validation.Blank)
	case utf8.RuneCountInString(username) > MaxUsernameLength:
		errs.Add("username", validation.TooLong(MaxUsernameLength))
	case strings.IndexFunc(username, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-'
	}) >= 0:
		errs.Add("username", validation.Invalid)
	}
}

// ValidateEmail checks an email address's shape: one @ with text on both
// sides, no spaces or control characters, at most MaxEmailLength.
func ValidateEmail(errs *validation.Errors, email string) {
	at := strings.LastIndexByte(email, '@')
	switch {
	case email == "":
		errs.Add("email", validation.Blank)
	case utf8.RuneCountInString(email) > MaxEmailLength:
		errs.Add("email", validation.TooLong(MaxEmailLength))
	case at <= 0 || at == len(email)-1 || strings.Count(email, "@") != 1 ||
		strings.IndexFunc(email, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 ||
		!utf8.ValidString(email):
		errs.Add("email", validation.Invalid)
	}
}

// ValidatePassword checks a plain password before it is hashed.
func ValidatePassword(errs *validation.Errors, password string) {
	switch {
	case password == "":
		errs.Add("password", validation.Blank)
	case len(password) < MinPasswordLength:
		errs.Add("password", "is too short (minimum is 8 characters)")
	case len(password) > MaxPasswordLength:
		errs.Add("password", "is too long (maximum is 1024 bytes)")
	case strings.IndexByte(password, 0) >= 0:
		errs.Add("password", validation.InvalidChars)
	}
}

// ValidateBio checks a bio (empty allowed).
func ValidateBio(errs *validation.Errors, bio string) {
	validation.Text(errs, "bio", bio, false, MaxBioLength)
}

// ValidateImage checks an image URL (empty allowed).
func ValidateImage(errs *validation.Errors, image string) {
	validation.Text(errs, "image", image, false, MaxImageLength)
	if strings.ContainsFunc(image, unicode.IsSpace) {
		errs.Add("image", validation.Invalid)
	}
}

// UsernameKey is the value under which a username is unique: usernames
// that differ only in case or Unicode normalization collide.
func UsernameKey(username string) string { return fold(username) }

// EmailKey is the value under which an email is unique and looked up.
func EmailKey(email string) string { return fold(email) }

func fold(s string) string { return strings.ToLower(norm.NFKC.String(s)) }
