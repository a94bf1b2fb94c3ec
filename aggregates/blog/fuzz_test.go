package blog_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/cohort-dev/cohort/aggregates/blog"
)

// FuzzSlugify: a slug holds only lower-case ASCII letters, digits and
// single inner hyphens, is at most MaxSlugLength bytes, is its own slug,
// ignores case, and is empty exactly when the title has no ASCII letter
// or digit (after removing accents).
func FuzzSlugify(f *testing.F) {
	for _, seed := range []string{
		"How to train your dragon", "  Leading and trailing  ", "Crème Brûlée", "ÅNGSTRÖM", "--a--b--",
		"日本語のタイトル", "emoji 🐉 dragon", "tab\tand\nnewline", "ǅungla", "ﬁne ligature", "İstanbul",
		"a" + strings.Repeat("-b", 60), strings.Repeat("x", 200), strings.Repeat("word ", 30), "\xff\xfe", "",
		"e\u0301\u0301", "Ⅻ roman", "٣ arabic digit", "K Kelvin sign",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, title string) {
		slug := blog.Slugify(title)
		if len(slug) > blog.MaxSlugLength {
			t.Fatalf("Slugify(%q) = %q: %d bytes, more than %d", title, slug, len(slug), blog.MaxSlugLength)
		}
		for i, r := range slug {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' && i > 0 && i < len(slug)-1 && slug[i-1] != '-') {
				t.Fatalf("Slugify(%q) = %q: %q at %d", title, slug, r, i)
			}
		}
		if again := blog.Slugify(slug); again != slug {
			t.Fatalf("Slugify(%q) = %q, but Slugify(%q) = %q", title, slug, slug, again)
		}
		if upper := blog.Slugify(asciiUpper(title)); upper != slug {
			t.Fatalf("Slugify(%q) = %q, but the title in upper case gives %q", title, slug, upper)
		}
		if want := hasASCIIAlnum(title); (slug != "") != want {
			t.Fatalf("Slugify(%q) = %q; the title has an ASCII letter or digit: %v", title, slug, want)
		}
	})
}

// asciiUpper upper-cases ASCII letters only, byte by byte (Unicode case
// mappings can change the letters themselves: ſ, K, ı; and strings.Map
// would replace invalid UTF-8).
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// hasASCIIAlnum reports whether s, decomposed, has an ASCII letter or
// digit.
func hasASCIIAlnum(s string) bool {
	for _, r := range norm.NFD.String(s) {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return true
		}
	}
	return false
}
