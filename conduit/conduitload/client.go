package conduitload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Outcome is what a request's answer (or its absence) says about its
// effect.
type Outcome uint8

const (
	// Acked: a 2xx answer. The write took effect and must stay visible.
	Acked Outcome = iota
	// Rejected: a 4xx answer. No effect.
	Rejected
	// Refused: no connection could be made (the server is down). No
	// effect.
	Refused
	// Unknown: a 5xx answer, or the connection was lost after the request
	// was sent. It may have taken effect, but not after a later write to
	// the same aggregate.
	Unknown
	// TimedOut: no answer within the client's timeout. The server may
	// still be working on it, so it may take effect at any later moment.
	TimedOut
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"acked", "rejected", "refused", "unknown", "timed out"}

func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Response is a request's result.
type Response struct {
	Status int // 0 without an answer
	Body   []byte
	Err    error // transport error, nil with an answer
	Took   time.Duration
}

// Outcome classifies the response.
func (r Response) Outcome() Outcome {
	switch {
	case r.Err != nil && neverSent(r.Err):
		return Refused
	case r.Err != nil && isTimeout(r.Err):
		return TimedOut
	case r.Err != nil:
		return Unknown
	case r.Status >= 200 && r.Status < 300:
		return Acked
	case r.Status >= 400 && r.Status < 500:
		return Rejected
	}
	return Unknown
}

// String describes the response for logs.
func (r Response) String() string {
	if r.Err != nil {
		return r.Err.Error()
	}
	body := strings.TrimSpace(string(r.Body))
	if len(body) > 200 {
		body = body[:200] + "…"
	}
	return fmt.Sprintf("%d %s", r.Status, body)
}

// neverSent reports whether err means the request never reached a server:
// the connection was refused or could not be made.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func isTimeout(err error) bool {
	var to interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &to) && to.Timeout())
}

// Client calls the Conduit API. It is safe for concurrent use.
type Client struct {
	api string
	hc  *http.Client
}

// NewClient returns a client of the API at api (".../api"), giving up on
// a request after timeout.
func NewClient(api string, timeout time.Duration) *Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{api: strings.TrimRight(api, "/"), hc: &http.Client{Timeout: timeout, Transport: tr}}
}

// API returns the API's base URL.
func (c *Client) API() string { return c.api }

// CloseIdle closes idle connections (after the server restarted, say).
func (c *Client) CloseIdle() { c.hc.CloseIdleConnections() }

// Do sends a request with in, if not nil, as its JSON body, and the token,
// if not empty. ctx bounds the request besides the client's timeout.
func (c *Client) Do(ctx context.Context, method, path, token string, in any) Response {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return Response{Err: err}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.api+path, body)
	if err != nil {
		return Response{Err: err}
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	start := time.Now()
	res, err := c.hc.Do(req)
	if err != nil {
		return Response{Err: err, Took: time.Since(start)}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	r := Response{Status: res.StatusCode, Body: b, Took: time.Since(start)}
	if err != nil {
		// The status came, the body did not: the handler had finished.
		r.Body = nil
	}
	return r
}

// Decode decodes the response's JSON body into v.
func (r Response) Decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %d answer: %w", r.Status, err)
	}
	return nil
}

// The API's documents, as far as the load needs them.
type (
	// UserDoc is {"user": ...}.
	UserDoc struct {
		User struct {
			Email    string `json:"email"`
			Token    string `json:"token"`
			Username string `json:"username"`
			Bio      string `json:"bio"`
		} `json:"user"`
	}
	// ProfileDoc is {"profile": ...}.
	ProfileDoc struct {
		Profile ProfileView `json:"profile"`
	}
	// ProfileView is a user as others see them.
	ProfileView struct {
		Username  string `json:"username"`
		Following bool   `json:"following"`
	}
	// ArticleDoc is {"article": ...}.
	ArticleDoc struct {
		Article ArticleView `json:"article"`
	}
	// ArticlesDoc is a list of articles.
	ArticlesDoc struct {
		Articles      []ArticleView `json:"articles"`
		ArticlesCount int           `json:"articlesCount"`
	}
	// ArticleView is an article as the API shows it.
	ArticleView struct {
		Slug           string      `json:"slug"`
		Title          string      `json:"title"`
		Body           string      `json:"body"`
		TagList        []string    `json:"tagList"`
		Favorited      bool        `json:"favorited"`
		FavoritesCount int         `json:"favoritesCount"`
		Author         ProfileView `json:"author"`
	}
	// CommentDoc is {"comment": ...}.
	CommentDoc struct {
		Comment CommentView `json:"comment"`
	}
	// CommentsDoc is {"comments": [...]}.
	CommentsDoc struct {
		Comments []CommentView `json:"comments"`
	}
	// CommentView is a comment as the API shows it.
	CommentView struct {
		ID     int64       `json:"id"`
		Body   string      `json:"body"`
		Author ProfileView `json:"author"`
	}
)

// escape escapes a path segment.
func escape(s string) string { return url.PathEscape(s) }
