package actors

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// A personal field is stored as a JSON string: sealedPrefix, then the
// base64url (unpadded) of a random nonce followed by the field's JSON
// value sealed with AES-256-GCM under the subject's data key, with the
// subject and the field's name as associated data (a sealed value copied
// to another subject or field does not open).
const sealedPrefix = "cohort:pd1:"

var sealedJSONPrefix = []byte(`"` + sealedPrefix)

// seal encrypts the personal fields of data, the JSON of a value with
// plan p, with their subject's key (created if the subject has none);
// subject is the subject if p names no subject field. A forgotten
// subject's fields are stored as their placeholders. A nil plan, or a
// value whose personal fields are all absent or null, is returned as is.
func (k *keyring) seal(ctx context.Context, p *personalPlan, data []byte, subject string) ([]byte, error) {
	if p == nil {
		return data, nil
	}
	notNull := func(v json.RawMessage) bool { return !bytes.Equal(v, []byte("null")) }
	v, err := k.personalValue(ctx, p, data, subject, notNull, true)
	if err != nil || len(v.fields) == 0 {
		return data, err
	}
	return v.rewrite(func(f personalField, plain json.RawMessage) (json.RawMessage, error) {
		nonce := make([]byte, v.key.aead.NonceSize())
		_, _ = rand.Read(nonce) // crypto/rand.Read never fails
		sealed := v.key.aead.Seal(nonce, nonce, plain, fieldAAD(v.subject, f.name))
		return json.Marshal(sealedPrefix + base64.RawURLEncoding.EncodeToString(sealed))
	})
}

// open decrypts the sealed personal fields of data, the JSON of a value
// with plan p; a forgotten subject's fields get their placeholders. A
// field that is not sealed (stored before it was marked personal) is left
// as it is.
func (k *keyring) open(ctx context.Context, p *personalPlan, data []byte, subject string) ([]byte, error) {
	if p == nil || !bytes.Contains(data, sealedJSONPrefix) {
		return data, nil
	}
	isSealed := func(v json.RawMessage) bool { return bytes.HasPrefix(v, sealedJSONPrefix) }
	v, err := k.personalValue(ctx, p, data, subject, isSealed, false)
	if err != nil || len(v.fields) == 0 {
		return data, err
	}
	return v.rewrite(func(f personalField, sealed json.RawMessage) (json.RawMessage, error) {
		plain, err := openField(v.key, v.subject, f.name, sealed)
		if err != nil {
			return nil, &DataKeyError{Subject: v.subject, Err: fmt.Errorf("field %s: %w", f.name, err)}
		}
		return plain, nil
	})
}

// personalValue is a stored value's JSON object, its subject, the
// personal fields to seal or open in it and its subject's key.
type personalValue struct {
	obj     map[string]json.RawMessage
	subject string
	fields  []personalField
	key     dataKey
}

// rewrite returns the object's JSON with each of its personal fields
// replaced by its placeholder if the subject is forgotten, else by what
// replace makes of it.
func (v personalValue) rewrite(replace func(f personalField, value json.RawMessage) (json.RawMessage, error)) ([]byte, error) {
	for _, f := range v.fields {
		if v.key.forgotten {
			v.obj[f.name] = f.forgotten
			continue
		}
		r, err := replace(f, v.obj[f.name])
		if err != nil {
			return nil, err
		}
		v.obj[f.name] = r
	}
	return json.Marshal(v.obj)
}

// personalValue parses data, the JSON of a value with plan p, and gets
// the key of its subject (creating it if create) when it has personal
// fields that want selects; subject is the subject if p names no subject
// field.
func (k *keyring) personalValue(ctx context.Context, p *personalPlan, data []byte, subject string,
	want func(json.RawMessage) bool, create bool) (personalValue, error) {
	obj, subject, fields, err := p.split(data, subject, want)
	if err != nil || len(fields) == 0 {
		return personalValue{}, err
	}
	if k == nil {
		return personalValue{}, &MasterKeyError{Reason: fmt.Sprintf("missing: %v has personal data", p.typ)}
	}
	key, err := k.key(ctx, subject, create)
	return personalValue{obj: obj, subject: subject, fields: fields, key: key}, err
}

// openField decrypts one sealed field.
func openField(dk dataKey, subject, field string, v json.RawMessage) (json.RawMessage, error) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, err
	}
	sealed, err := base64.RawURLEncoding.DecodeString(s[len(sealedPrefix):])
	if err != nil {
		return nil, err
	}
	n := dk.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed value too short")
	}
	return dk.aead.Open(nil, sealed[:n], sealed[n:], fieldAAD(subject, field))
}

func fieldAAD(subject, field string) []byte {
	aad := append([]byte("cohort/pd/v1\x00"), subject...)
	return append(append(aad, 0), field...)
}

// split parses data, a JSON object, and returns it with its subject (the
// subject field's if it is not empty, else subject: an aggregate state's
// id) and the personal fields present in it
// that want selects. A JSON null is no object and has no fields. Fields
// to seal or open with an empty subject are an error.
func (p *personalPlan) split(data []byte, subject string, want func(json.RawMessage) bool) (map[string]json.RawMessage, string, []personalField, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, "", nil, fmt.Errorf("actors: %v: personal fields: %w", p.typ, err)
	}
	var fields []personalField
	for _, f := range p.fields {
		if v, ok := obj[f.name]; ok && want(v) {
			fields = append(fields, f)
		}
	}
	if v, ok := obj[p.subject]; ok && p.subject != "" {
		var named string
		if err := json.Unmarshal(v, &named); err != nil {
			return nil, "", nil, fmt.Errorf("actors: %v: subject field %s: %w", p.typ, p.subject, err)
		}
		subject = cmp.Or(named, subject)
	}
	if len(fields) > 0 && subject == "" {
		return nil, "", nil, fmt.Errorf("%w: %v", ErrNoSubject, p.typ)
	}
	return obj, subject, fields, nil
}
