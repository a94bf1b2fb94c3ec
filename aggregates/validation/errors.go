package validation

import (
	"maps"
	"slices"
	"strings"
)

// Messages used across Conduit.
const (
	Blank        = "can't be blank"
	Taken        = "has already been taken"
	Invalid      = "is invalid"
	InvalidChars = "contains invalid characters"
)

// Errors maps field names to what is wrong with them. A nil or empty
// Errors means no error; Err turns it into an error value.
type Errors map[string][]string

// Add records msg for field.
func (e *Errors) Add(field, msg string) {
	if *e == nil {
		*e = make(Errors)
	}
	(*e)[field] = append((*e)[field], msg)
}

// Err returns e as an error, or nil when it holds nothing.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// Error lists the fields and messages in a stable order.
func (e Errors) Error() string {
	var b strings.Builder
	b.WriteString("validation failed:")
	for i, f := range slices.Sorted(maps.Keys(e)) {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteByte(' ')
		b.WriteString(f)
		b.WriteByte(' ')
		b.WriteString(strings.Join(e[f], ", "))
	}
	return b.String()
}

// Field returns an Errors with one message.
func Field(field, msg string) Errors { return Errors{field: {msg}} }
