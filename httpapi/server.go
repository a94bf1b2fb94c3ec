package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/cohort-dev/cohort/conduit"
)

// Config configures the API.
type Config struct {
	// App serves the use cases. Required.
	App *conduit.App
	// Tokens issues and verifies tokens. Required.
	Tokens *Tokens
	// Logger receives request and error logs; default discards them.
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Limits bounds failed logins and, if configured, each client's
	// requests; the zero value means the defaults.
	Limits Limits
	// TracerProvider traces each request (default: none); the commands it
	// dispatches join the request's trace.
	TracerProvider trace.TracerProvider
	// TrustTraceContext lets an incoming W3C traceparent make the request
	// part of the caller's trace, sampling decision included. By default
	// the API is a public endpoint: each request starts a trace of its own,
	// linked to the caller's, so that no client can fill the traces or
	// switch their sampling off. Set it only behind a proxy that sets or
	// strips traceparent.
	TrustTraceContext bool
	// Ready lists the conditions GET /readyz checks, in order; with none,
	// a serving handler is ready. GET /healthz and GET /readyz are answered
	// before the API's middleware: no authentication, no rate limit, no
	// request log.
	Ready []Check
	// ReadyTimeout bounds the checks of one GET /readyz (default
	// DefaultReadyTimeout); a check that has not answered by then fails.
	ReadyTimeout time.Duration
}

// discardLogger is the logger of a server configured without one: it takes
// no records, so nothing is formatted for it.
var discardLogger = slog.New(slog.DiscardHandler)

// server holds what the handlers share.
type server struct {
	app     *conduit.App
	tokens  *Tokens
	log     *slog.Logger
	maxBody int64
	limits  *limits
}

// NewHandler returns the API, under /api, and the operational probes
// GET /healthz and GET /readyz (see Config.Ready).
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.App == nil || cfg.Tokens == nil {
		return nil, errors.New("httpapi: Config.App and Config.Tokens are required")
	}
	s := &server{app: cfg.App, tokens: cfg.Tokens, log: cfg.Logger, maxBody: cfg.MaxBodyBytes}
	if s.log == nil {
		s.log = discardLogger
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	var err error
	if s.limits, err = newLimits(cfg.Limits); err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	if cfg.TracerProvider != nil {
		opts := []otelhttp.Option{otelhttp.WithTracerProvider(cfg.TracerProvider), otelhttp.WithPropagators(propagation.TraceContext{})}
		if !cfg.TrustTraceContext {
			opts = append(opts, otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return true }))
		}
		r.Use(otelhttp.NewMiddleware("conduit", opts...), nameSpans)
	}
	r.Use(nosniff, requestID, s.logRequests, s.recoverPanics, cors, s.limitRequests, s.authenticate)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errRouteNotFound) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errMethodNotAllowed) })

	r.Route("/api", func(r chi.Router) {
		r.Post("/users", s.register)
		r.Post("/users/login", s.login)
		r.Get("/user", s.authed(s.currentUser))
		r.Put("/user", s.authed(s.updateUser))
		r.Delete("/user", s.authed(s.deleteUser)) // beyond the RealWorld spec

		r.Get("/profiles/{username}", s.profile)
		r.Post("/profiles/{username}/follow", s.authed(s.follow))
		r.Delete("/profiles/{username}/follow", s.authed(s.unfollow))

		r.Get("/articles", s.listArticles)
		r.Post("/articles", s.authed(s.createArticle))
		r.Get("/articles/feed", s.authed(s.feed))
		r.Get("/articles/{slug}", s.article)
		r.Put("/articles/{slug}", s.authed(s.updateArticle))
		r.Delete("/articles/{slug}", s.authed(s.deleteArticle))
		r.Post("/articles/{slug}/favorite", s.authed(s.favorite))
		r.Delete("/articles/{slug}/favorite", s.authed(s.unfavorite))
		r.Get("/articles/{slug}/comments", s.comments)
		r.Post("/articles/{slug}/comments", s.authed(s.addComment))
		r.Delete("/articles/{slug}/comments/{id}", s.authed(s.deleteComment))

		r.Get("/tags", s.tags)
	})
	return withProbes(r, cfg.Ready, cfg.ReadyTimeout, s.log), nil
}

// nameSpans names the request's span after the route it matched, once it
// has been routed: "PUT /api/user".
func nameSpans(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			span := trace.SpanFromContext(r.Context())
			span.SetName(r.Method + " " + rc.RoutePattern())
			span.SetAttributes(semconv.HTTPRoute(rc.RoutePattern()))
		}
	})
}

// session is the authenticated user of a request.
type session struct {
	user  conduit.User
	token string
}

type sessionKey struct{}

func sessionOf(ctx context.Context) (session, bool) {
	s, ok := ctx.Value(sessionKey{}).(session)
	return s, ok
}

// viewer returns the id of the request's user, "" when anonymous.
func viewer(r *http.Request) string {
	s, _ := sessionOf(r.Context())
	return s.user.ID
}

// authenticate reads the token, if any. A request with an Authorization
// header must carry a valid token of an existing user, issued since the
// user's last change of password, whatever the endpoint.
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Token") && !strings.EqualFold(scheme, "Bearer") {
			s.writeError(w, r, errUnauthorized)
			return
		}
		claims, err := s.tokens.Verify(strings.TrimSpace(token))
		if err != nil {
			s.writeError(w, r, errUnauthorized)
			return
		}
		u, err := s.app.User(r.Context(), claims.Subject)
		switch {
		case errors.Is(err, conduit.ErrNotFound):
			s.writeError(w, r, errUnauthorized)
			return
		case err != nil:
			s.writeError(w, r, err)
			return
		}
		if err := s.tokens.Current(claims, u.PasswordHash); err != nil {
			s.writeError(w, r, errUnauthorized)
			return
		}
		// The one read of the user in the request: handlers take it from
		// the session, use cases acting for the user from the context.
		ctx := conduit.WithCurrentUser(r.Context(), u)
		ctx = context.WithValue(ctx, sessionKey{}, session{user: u, token: strings.TrimSpace(token)})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// authed makes h require an authenticated user.
func (s *server) authed(h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := sessionOf(r.Context())
		if !ok {
			s.writeError(w, r, errUnauthorized)
			return
		}
		h(w, r, sess)
	}
}

// recoverPanics answers a panicking handler with a 500 and logs the stack.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "handler panicked", "method", r.Method, "path", r.URL.Path,
					"request_id", middleware.GetReqID(r.Context()), "panic", v, "stack", string(debug.Stack()))
				writeJSON(w, http.StatusInternalServerError, message("body", "internal server error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// logRequests logs each request with its status and duration, if the
// logger takes records of that level: else it costs nothing.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelInfo) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		s.log.InfoContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", ww.Status(),
			"bytes", ww.BytesWritten(), "duration", time.Since(start), "request_id", middleware.GetReqID(r.Context()))
	})
}

// nosniff tells browsers to take every response's content type as it is
// declared, never to guess it.
func nosniff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// cors lets browser front ends on other origins call the API; tokens
// travel in a header, not in cookies, so any origin may.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Requested-With")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
