package blog

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/cohort-dev/cohort/aggregates/validation"
)

// Limits on articles and comments.
const (
	MaxTitleLength       = 256     // characters
	MaxDescriptionLength = 1024    // characters
	MaxBodyLength        = 100_000 // characters
	MaxTags              = 50
	MaxTagLength         = 64     // characters
	MaxCommentLength     = 10_000 // characters
	MaxSlugLength        = 96     // bytes of the slug made from a title, before any suffix
)

// ValidateArticle checks a new article's fields; tags must already be
// normalized (NormalizeTags).
func ValidateArticle(errs *validation.Errors, title, description, body string, tags []string) {
	validation.Text(errs, "title", title, true, MaxTitleLength)
	validation.Text(errs, "description", description, true, MaxDescriptionLength)
	validation.Text(errs, "body", body, true, MaxBodyLength)
	ValidateTags(errs, tags)
}

// ValidateTags checks normalized tags.
func ValidateTags(errs *validation.Errors, tags []string) {
	if len(tags) > MaxTags {
		errs.Add("tagList", "has too many tags (maximum is 50)")
		return
	}
	for _, t := range tags {
		if utf8.RuneCountInString(t) > MaxTagLength {
			errs.Add("tagList", "has a tag that is too long (maximum is 64 characters)")
			return
		}
		if !validation.Printable(t) || strings.ContainsAny(t, "\r\n\t") {
			errs.Add("tagList", validation.InvalidChars)
			return
		}
	}
}

// ValidateComment checks a comment's body.
func ValidateComment(errs *validation.Errors, body string) {
	validation.Text(errs, "body", body, true, MaxCommentLength)
}

// NormalizeTags trims tags, drops empty and repeated ones and sorts the
// rest. It never returns nil, so that an article's tag list is always a
// list.
func NormalizeTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Slugify makes a URL slug of a title: accents are removed, ASCII letters
// and digits are kept in lower case, every other run of characters
// becomes one hyphen, and the result is cut to MaxSlugLength at a hyphen
// where possible. A title with no ASCII letter or digit gives "".
func Slugify(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFD.String(title) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue // combining accent of the previous letter
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(unicode.ToLower(r))
		default:
			dash = true
		}
	}
	s := b.String()
	if len(s) > MaxSlugLength {
		s = s[:MaxSlugLength]
		if i := strings.LastIndexByte(s, '-'); i > MaxSlugLength/2 {
			s = s[:i]
		}
		s = strings.TrimRight(s, "-")
	}
	return s
}
