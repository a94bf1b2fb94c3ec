package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/cohort-dev/cohort/aggregates/validation"
)

// DefaultMaxBodyBytes bounds request bodies unless Config says otherwise.
const DefaultMaxBodyBytes = 1 << 20

// decode reads the request's JSON document, {"<wrapper>": {...}}, and
// returns the wrapped object. Unknown fields are ignored (clients send
// extra ones); an empty body, malformed JSON, wrong types, trailing data
// and a missing wrapper are validation errors, a body over the limit is
// errTooLarge.
func decode[T any](s *server, w http.ResponseWriter, r *http.Request, wrapper string) (T, error) {
	var doc map[string]json.RawMessage
	var v T
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.maxBody))
	err := dec.Decode(&doc)
	if err == nil {
		if _, err = dec.Token(); err == io.EOF {
			err = nil
		} else if err == nil {
			err = errors.New("trailing data")
		}
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return v, errTooLarge
	case errors.Is(err, io.EOF):
		return v, validation.Field("body", validation.Blank)
	case err != nil:
		return v, jsonError(err, "body")
	}
	raw, ok := doc[wrapper]
	if !ok || string(raw) == "null" {
		return v, validation.Field(wrapper, validation.Blank)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, jsonError(err, wrapper)
	}
	return v, nil
}

// jsonError describes a decoding error as a validation error, naming the
// field of a wrong type, or top when the value as a whole is wrong.
func jsonError(err error, top string) error {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		field := typeErr.Field[strings.LastIndexByte(typeErr.Field, '.')+1:]
		return validation.Field(field, "must be "+jsonType(typeErr.Type.String()))
	case errors.As(err, &typeErr):
		return validation.Field(top, "must be a JSON object")
	}
	return validation.Field("body", "is not valid JSON")
}

// jsonType names a Go type the way a JSON client thinks of it.
func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "*"):
		return jsonType(goType[1:])
	case goType == "string":
		return "a string"
	}
	return "an object"
}

// param returns a path parameter, unescaped when the router matched the
// escaped path.
func param(r *http.Request, name string) string {
	v := chi.URLParam(r, name)
	if r.URL.RawPath == "" {
		return v
	}
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// Pagination defaults and bounds. Comments, which RealWorld clients
// expect all at once, default to the largest page.
const (
	defaultLimit         = 20
	maxLimit             = 100
	defaultCommentsLimit = maxLimit
)

// query parses the query string; a malformed one is a validation error.
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, validation.Field("query", validation.Invalid)
	}
	return q, nil
}

// page reads limit (default def, at most 100) and offset (default 0).
func page(q url.Values, def int) (limit, offset int, err error) {
	var errs validation.Errors
	limit, offset = def, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs.Add("limit", "must be a positive integer")
		}
		limit = min(n, maxLimit)
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs.Add("offset", "must be a non-negative integer")
		}
		offset = n
	}
	return limit, offset, errs.Err()
}
