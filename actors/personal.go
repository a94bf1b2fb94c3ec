package actors

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// Personal data is marked on the structs the runtime stores (events,
// aggregate states that are snapshotted, process-manager states) with the
// struct tag `cohort:"..."`:
//
//	type EmailChanged struct {
//		UserID string `json:"user_id" cohort:"subject"`
//		Email  string `json:"email" cohort:"personal"`
//	}
//
// A field tagged "personal" is stored encrypted with its subject's data
// key; the field tagged "subject" (a string) names the subject, the person
// the data is about. An aggregate state without a subject field, or with
// an empty one, has its aggregate's id as subject; an event or a process-manager state with
// personal fields must have a subject field, or its registration fails.
// Tags are read on the struct's own fields and on the fields of the
// structs it embeds (which JSON flattens); a field that JSON leaves out
// (json:"-") is never stored and may not be tagged.
//
// After the subject is forgotten (App.Forget), a personal field decodes as
// ForgottenPlaceholder if it is a string and as its type's zero value
// otherwise.

// ForgottenPlaceholder is the value a personal string field of a
// forgotten subject decodes to. Personal fields of other kinds decode to
// their zero value.
const ForgottenPlaceholder = "[forgotten]"

// Tag values of the `cohort` struct tag.
const (
	tagKey      = "cohort"
	tagPersonal = "personal"
	tagSubject  = "subject"
)

// personalField is a personal field of a stored struct.
type personalField struct {
	name string // in the JSON
	// forgotten is the JSON the field decodes from once its subject is
	// forgotten.
	forgotten json.RawMessage
}

// personalPlan says which fields of a stored struct's JSON are personal
// and which holds their subject. A nil plan has no personal fields.
type personalPlan struct {
	typ     reflect.Type
	subject string // the subject field's JSON name; "" when none is tagged
	fields  []personalField
}

// planEntry is a type's plan, or why the type's tags are wrong.
type planEntry struct {
	plan *personalPlan
	err  error
}

// plans caches planOf by type: tags never change.
var plans sync.Map // reflect.Type -> planEntry

// planOf returns the plan of values of t (or of what t points to): nil
// if they have no personal fields, an error if their tags are wrong. A
// plan with personal fields and no subject field is an error unless
// subjectDefaults: an aggregate state's subject is then its id.
func planOf(t reflect.Type, subjectDefaults bool) (*personalPlan, error) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil, nil
	}
	e, ok := plans.Load(t)
	if !ok {
		p, err := newPlan(t)
		e, _ = plans.LoadOrStore(t, planEntry{plan: p, err: err})
	}
	p, err := e.(planEntry).plan, e.(planEntry).err
	if err == nil && p != nil && p.subject == "" && !subjectDefaults {
		err = fmt.Errorf("actors: %v has personal fields but no field tagged %s:%q", t, tagKey, tagSubject)
	}
	return p, err
}

// newPlan reads t's tags.
func newPlan(t reflect.Type) (*personalPlan, error) {
	p := &personalPlan{typ: t}
	if err := p.collect(t); err != nil {
		return nil, err
	}
	if len(p.fields) == 0 {
		return nil, nil
	}
	return p, nil
}

// collect adds the tagged fields of struct t, and of the structs it
// embeds, to p.
func (p *personalPlan) collect(t reflect.Type) error {
	for f := range t.Fields() {
		tag, tagged := f.Tag.Lookup(tagKey)
		name, skip := jsonName(f)
		if f.Anonymous && !tagged && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if err := p.collect(et); err != nil {
					return err
				}
				continue
			}
		}
		if !tagged {
			continue
		}
		if name == "" {
			name = f.Name
		}
		switch {
		case skip || !f.IsExported():
			return fmt.Errorf("actors: %v.%s is tagged %s:%q but is not stored", p.typ, f.Name, tagKey, tag)
		case tag == tagSubject:
			if p.subject != "" {
				return fmt.Errorf("actors: %v has two fields tagged %s:%q", p.typ, tagKey, tagSubject)
			}
			if f.Type.Kind() != reflect.String {
				return fmt.Errorf("actors: %v.%s: a subject field must be a string, not %v", p.typ, f.Name, f.Type)
			}
			p.subject = name
		case tag == tagPersonal:
			forgotten := json.RawMessage(`"` + ForgottenPlaceholder + `"`)
			if f.Type.Kind() != reflect.String {
				var err error
				if forgotten, err = json.Marshal(reflect.Zero(f.Type).Interface()); err != nil {
					return fmt.Errorf("actors: %v.%s: encode the zero value: %w", p.typ, f.Name, err)
				}
			}
			p.fields = append(p.fields, personalField{name: name, forgotten: forgotten})
		default:
			return fmt.Errorf("actors: %v.%s: unknown tag %s:%q (want %q or %q)", p.typ, f.Name, tagKey, tag, tagPersonal, tagSubject)
		}
	}
	return nil
}

// jsonName returns the name encoding/json gives f ("" for its Go name)
// and whether it leaves f out.
func jsonName(f reflect.StructField) (name string, skip bool) {
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", true
	}
	name, _, _ = strings.Cut(tag, ",")
	return name, false
}
