package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/cohort-dev/cohort/aggregates/validation"
	"github.com/cohort-dev/cohort/conduit"
	"github.com/cohort-dev/cohort/conduit/ratelimit"
)

// Errors of the HTTP layer itself.
var (
	// errUnauthorized: no valid token where one is needed.
	errUnauthorized = errors.New("httpapi: unauthorized")
	// errTooLarge: the request body exceeds the limit.
	errTooLarge = errors.New("httpapi: request body too large")
	// errRouteNotFound: no such endpoint.
	errRouteNotFound = errors.New("httpapi: no such endpoint")
	// errMethodNotAllowed: the endpoint has no such method.
	errMethodNotAllowed = errors.New("httpapi: method not allowed")
)

// The Retry-After of a 503: when the database is unavailable, about how
// long PostgreSQL takes to restart; when the password hashing queue is
// full, a second.
const (
	retryAfterUnavailable = 2 * time.Second
	retryAfterOverloaded  = time.Second
)

// errorBody is RealWorld's error document.
type errorBody struct {
	Errors map[string][]string `json:"errors"`
}

func message(field, msg string) errorBody {
	return errorBody{Errors: map[string][]string{field: {msg}}}
}

// writeError answers a request that failed with err: the one place that
// maps errors to statuses. Client errors are answered as they are (a
// client over a limit with 429 and Retry-After; a write that lost to
// concurrent writes to the same resource past the runtime's retries with
// 409: nothing was written, so trying again is safe); anything else is
// logged and answered with a generic 500 (or 503 with Retry-After when the
// database is unavailable or the application is overloaded or stopping),
// never with its details.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var verr validation.Errors
	var limited *ratelimit.LimitedError
	status, body := http.StatusInternalServerError, message("body", "internal server error")
	switch {
	case errors.As(err, &verr):
		status, body = http.StatusUnprocessableEntity, errorBody{Errors: verr}
	case errors.Is(err, errUnauthorized):
		w.Header().Set("WWW-Authenticate", "Token")
		status, body = http.StatusUnauthorized, message("body", "missing or invalid token")
	case errors.Is(err, conduit.ErrInvalidCredentials):
		status, body = http.StatusUnauthorized, message("email or password", "is invalid")
	case errors.Is(err, conduit.ErrForbidden):
		status, body = http.StatusForbidden, message("body", "forbidden: this belongs to another user")
	case errors.Is(err, conduit.ErrNotFound), errors.Is(err, errRouteNotFound):
		status, body = http.StatusNotFound, message("body", "not found")
	case errors.Is(err, errMethodNotAllowed):
		status, body = http.StatusMethodNotAllowed, message("body", "method not allowed")
	case errors.Is(err, conduit.ErrConflict):
		// 409 rather than 503: the write was refused for sure (a 5xx
		// leaves its outcome unknown), it is about this one resource, not
		// the node's health, and trying again at once likely succeeds.
		status, body = http.StatusConflict, message("body", "conflict: the resource was changed concurrently, try again")
		s.log.WarnContext(r.Context(), "request refused: concurrent writes", "method", r.Method, "path", r.URL.Path,
			"request_id", middleware.GetReqID(r.Context()), "err", err)
	case errors.Is(err, errTooLarge):
		status, body = http.StatusRequestEntityTooLarge, message("body", "request body too large")
	case errors.As(err, &limited):
		retryAfter(w, limited.RetryAfter)
		status, body = http.StatusTooManyRequests, message("body", "too many requests, try again later")
	case errors.Is(err, conduit.ErrOverloaded), errors.Is(err, conduit.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		wait := retryAfterUnavailable
		if errors.Is(err, conduit.ErrOverloaded) {
			wait = retryAfterOverloaded
		}
		retryAfter(w, wait)
		status, body = http.StatusServiceUnavailable, message("body", "service unavailable, try again")
		s.log.WarnContext(r.Context(), "request not served", "method", r.Method, "path", r.URL.Path,
			"request_id", middleware.GetReqID(r.Context()), "err", err)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return // the client went away
	default:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", middleware.GetReqID(r.Context()), "err", err)
	}
	writeJSON(w, status, body)
}

// writeJSON writes v as the JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	// An error here means the client is gone; there is no one to tell.
	_ = json.NewEncoder(w).Encode(v)
}
