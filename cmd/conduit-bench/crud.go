package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cohort-dev/cohort/conduit/password"
	"github.com/cohort-dev/cohort/httpapi"
)

// dbCRUD is the database of the CRUD baseline.
const dbCRUD = "crud"

// crudSchema is the CRUD baseline's table: users, unique by username and
// by email.
const crudSchema = `
CREATE TABLE users (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	username      text NOT NULL,
	email         text NOT NULL,
	password_hash text NOT NULL,
	bio           text NOT NULL DEFAULT '',
	image         text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE UNIQUE INDEX users_email_key ON users (email);`

// pgUniqueViolation is PostgreSQL's unique_violation error code.
const pgUniqueViolation = "23505"

// crudServer is the CRUD baseline: the three RealWorld routes the
// workload uses — POST /api/users, PUT /api/user and GET
// /api/profiles/{username} — written directly on pgx, one statement each,
// with Conduit's password hashing and JWTs. The benchmark drives it with
// the same load as Conduit, on the same PostgreSQL server, so that the
// two are compared within one run.
type crudServer struct {
	pool   *pgxpool.Pool
	hasher *password.Hasher
	tokens *httpapi.Tokens
	server *http.Server
	served chan error
}

// startCRUDServer creates the baseline's database and serves it on a
// loopback port; it returns the API's URL (ending in /api).
func (m *Main) startCRUDServer(ctx context.Context) (*crudServer, string, error) {
	if err := m.srv.create(ctx, dbCRUD, ""); err != nil {
		return nil, "", err
	}
	pool, err := m.srv.pool(ctx, dbCRUD, appPoolConns)
	if err != nil {
		return nil, "", err
	}
	if _, err := pool.Exec(ctx, crudSchema); err != nil {
		pool.Close()
		return nil, "", fmt.Errorf("crud baseline: schema: %w", err)
	}
	hasher, err := password.NewHasher(m.Config.Password)
	if err != nil {
		pool.Close()
		return nil, "", err
	}
	tokens, err := httpapi.NewTokens([]byte(rand.Text()+rand.Text()), 0)
	if err != nil {
		pool.Close()
		return nil, "", err
	}
	s := &crudServer{pool: pool, hasher: hasher, tokens: tokens, served: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/users", s.register)
	mux.HandleFunc("PUT /api/user", s.updateUser)
	mux.HandleFunc("GET /api/profiles/{username}", s.profile)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pool.Close()
		return nil, "", err
	}
	s.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { s.served <- s.server.Serve(ln) }()
	return s, "http://" + ln.Addr().String() + "/api", nil
}

// close shuts the server down and closes its pool.
func (s *crudServer) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.server.Shutdown(ctx)
	if serveErr := <-s.served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	s.pool.Close()
	return err
}

// crudUser is the input and output of the user routes; absent input
// fields stay as they are.
type crudUser struct {
	Username *string `json:"username,omitempty"`
	Email    *string `json:"email,omitempty"`
	Password *string `json:"password,omitempty"`
	Bio      *string `json:"bio,omitempty"`
	Image    *string `json:"image,omitempty"`
	Token    string  `json:"token,omitempty"`
}

// register: POST /api/users, one INSERT.
func (s *crudServer) register(w http.ResponseWriter, r *http.Request) {
	u, ok := decodeCRUDUser(w, r)
	if !ok {
		return
	}
	if u.Username == nil || *u.Username == "" || u.Email == nil || *u.Email == "" || u.Password == nil || *u.Password == "" {
		crudError(w, http.StatusUnprocessableEntity, "user", "needs a username, an email and a password")
		return
	}
	hash, err := s.hasher.Hash(r.Context(), *u.Password)
	if err != nil {
		crudError(w, http.StatusInternalServerError, "password", err.Error())
		return
	}
	var id int64
	bio, image := "", ""
	err = s.pool.QueryRow(r.Context(), `INSERT INTO users (username, email, password_hash) VALUES ($1, $2, $3) RETURNING id`,
		*u.Username, *u.Email, hash).Scan(&id)
	if err != nil {
		crudStoreError(w, err)
		return
	}
	token, err := s.tokens.Issue(fmt.Sprint(id), hash)
	if err != nil {
		crudError(w, http.StatusInternalServerError, "token", err.Error())
		return
	}
	crudJSON(w, http.StatusCreated, "user", crudUser{Username: u.Username, Email: u.Email, Bio: &bio, Image: &image, Token: token})
}

// updateUser: PUT /api/user, authenticated by the token alone, then one
// UPDATE ... RETURNING.
func (s *crudServer) updateUser(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Token ")
	if !ok {
		crudError(w, http.StatusUnauthorized, "token", "is missing")
		return
	}
	// The token alone authenticates: the baseline does not check that it
	// predates a change of password (Conduit does, with the user it reads).
	claims, err := s.tokens.Verify(token)
	id := claims.Subject
	if err != nil {
		crudError(w, http.StatusUnauthorized, "token", "is invalid")
		return
	}
	u, ok := decodeCRUDUser(w, r)
	if !ok {
		return
	}
	var hash *string
	if u.Password != nil {
		h, err := s.hasher.Hash(r.Context(), *u.Password)
		if err != nil {
			crudError(w, http.StatusInternalServerError, "password", err.Error())
			return
		}
		hash = &h
	}
	var out crudUser
	err = s.pool.QueryRow(r.Context(), `UPDATE users SET
			username = coalesce($2, username), email = coalesce($3, email), password_hash = coalesce($4, password_hash),
			bio = coalesce($5, bio), image = coalesce($6, image)
		WHERE id = $1 RETURNING username, email, bio, image`,
		id, u.Username, u.Email, hash, u.Bio, u.Image).Scan(&out.Username, &out.Email, &out.Bio, &out.Image)
	if err != nil {
		crudStoreError(w, err)
		return
	}
	out.Token = token
	crudJSON(w, http.StatusOK, "user", out)
}

// profile: GET /api/profiles/{username}, one SELECT (as seen by an
// anonymous reader: following is false).
func (s *crudServer) profile(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Username  string `json:"username"`
		Bio       string `json:"bio"`
		Image     string `json:"image"`
		Following bool   `json:"following"`
	}
	err := s.pool.QueryRow(r.Context(), `SELECT username, bio, image FROM users WHERE username = $1`, r.PathValue("username")).
		Scan(&p.Username, &p.Bio, &p.Image)
	if err != nil {
		crudStoreError(w, err)
		return
	}
	crudJSON(w, http.StatusOK, "profile", p)
}

// crudStoreError answers a statement's failure: 404 for no row, 422 for a
// taken username or email, 500 otherwise.
func crudStoreError(w http.ResponseWriter, err error) {
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		crudError(w, http.StatusNotFound, "user", "not found")
	case errors.As(err, &pgErr) && pgErr.Code == pgUniqueViolation:
		field := "email"
		if pgErr.ConstraintName == "users_username_key" {
			field = "username"
		}
		crudError(w, http.StatusUnprocessableEntity, field, "has already been taken")
	default:
		crudError(w, http.StatusInternalServerError, "database", err.Error())
	}
}

// crudError answers with the RealWorld error document.
func crudError(w http.ResponseWriter, status int, field, msg string) {
	crudJSON(w, status, "errors", map[string][]string{field: {msg}})
}

// crudJSON answers with {key: v}.
func crudJSON(w http.ResponseWriter, status int, key string, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{key: v})
}

// decodeCRUDUser reads a {"user": …} body, answering 422 when it is not one.
func decodeCRUDUser(w http.ResponseWriter, r *http.Request) (crudUser, bool) {
	var in struct {
		User crudUser `json:"user"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		crudError(w, http.StatusUnprocessableEntity, "body", "is not a user document")
		return crudUser{}, false
	}
	return in.User, true
}
