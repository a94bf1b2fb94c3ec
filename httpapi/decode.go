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

// decode reads the request's JSON body into dst. Unknown fields are
// ignored (clients send extra ones); an empty body, malformed JSON, wrong
// types and trailing data are validation errors, a body over the limit is
// errTooLarge.
func (s *server) decode(w http.ResponseWriter, r *http.Request, dst any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.maxBody))
	err := dec.Decode(dst)
	if err == nil {
		if _, err = dec.Token(); err == io.EOF {
			err = nil
		} else if err == nil {
			err = errors.New("trailing data")
		}
	}
	var tooLarge *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooLarge):
		return errTooLarge
	case errors.As(err, &typeErr) && typeErr.Field != "":
		field := typeErr.Field[strings.LastIndexByte(typeErr.Field, '.')+1:]
		return validation.Field(field, "must be "+jsonType(typeErr.Type.String()))
	case errors.As(err, &typeErr):
		return validation.Field("body", "must be a JSON object")
	case errors.Is(err, io.EOF):
		return validation.Field("body", validation.Blank)
	}
	return validation.Field("body", "is not valid JSON")
}

// required is the error for a missing wrapper object ("user", "article").
func required(wrapper string) error { return validation.Field(wrapper, validation.Blank) }

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

// Pagination defaults and bounds.
const (
	defaultLimit = 20
	maxLimit     = 100
)

// query parses the query string; a malformed one is a validation error.
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, validation.Field("query", validation.Invalid)
	}
	return q, nil
}

// page reads limit (default 20, at most 100) and offset (default 0).
func page(q url.Values) (limit, offset int, err error) {
	var errs validation.Errors
	limit, offset = defaultLimit, 0
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
