package actors

import (
	"bytes"
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
	obj, subject, fields, err := p.split(data, subject, func(v json.RawMessage) bool { return !bytes.Equal(v, []byte("null")) })
	if err != nil || len(fields) == 0 {
		return data, err
	}
	if k == nil {
		return nil, &MasterKeyError{Reason: fmt.Sprintf("missing: %v has personal data", p.typ)}
	}
	dk, err := k.key(ctx, subject, true)
	if err != nil {
		return nil, err
	}
	for _, f := range fields {
		if dk.forgotten {
			obj[f.name] = f.forgotten
			continue
		}
		nonce := make([]byte, dk.aead.NonceSize())
		_, _ = rand.Read(nonce) // crypto/rand.Read never fails
		sealed := dk.aead.Seal(nonce, nonce, obj[f.name], fieldAAD(subject, f.name))
		obj[f.name], _ = json.Marshal(sealedPrefix + base64.RawURLEncoding.EncodeToString(sealed))
	}
	return json.Marshal(obj)
}

// open decrypts the sealed personal fields of data, the JSON of a value
// with plan p; a forgotten subject's fields get their placeholders. A
// field that is not sealed (stored before it was marked personal) is left
// as it is.
func (k *keyring) open(ctx context.Context, p *personalPlan, data []byte, subject string) ([]byte, error) {
	if p == nil || !bytes.Contains(data, sealedJSONPrefix) {
		return data, nil
	}
	obj, subject, fields, err := p.split(data, subject, func(v json.RawMessage) bool { return bytes.HasPrefix(v, sealedJSONPrefix) })
	if err != nil || len(fields) == 0 {
		return data, err
	}
	if k == nil {
		return nil, &MasterKeyError{Reason: fmt.Sprintf("missing: %v has personal data", p.typ)}
	}
	dk, err := k.key(ctx, subject, false)
	if err != nil {
		return nil, err
	}
	for _, f := range fields {
		if dk.forgotten {
			obj[f.name] = f.forgotten
			continue
		}
		if obj[f.name], err = openField(dk, subject, f.name, obj[f.name]); err != nil {
			return nil, &DataKeyError{Subject: subject, Err: fmt.Errorf("field %s: %w", f.name, err)}
		}
	}
	return json.Marshal(obj)
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
// subject field's, else subject) and the personal fields present in it
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
	if p.subject != "" {
		subject = ""
		if v, ok := obj[p.subject]; ok {
			if err := json.Unmarshal(v, &subject); err != nil {
				return nil, "", nil, fmt.Errorf("actors: %v: subject field %s: %w", p.typ, p.subject, err)
			}
		}
	}
	if len(fields) > 0 && subject == "" {
		return nil, "", nil, fmt.Errorf("%w: %v", ErrNoSubject, p.typ)
	}
	return obj, subject, fields, nil
}
