package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	// ErrInvalidToken: the token is malformed, forged, expired or signed
	// with another algorithm.
	ErrInvalidToken = errors.New("httpapi: invalid token")
	// ErrRevokedToken: the token was issued before its user's last change
	// of password (or carries no password stamp at all).
	ErrRevokedToken = errors.New("httpapi: token revoked by a change of password")
)

// MinSecretLength is the shortest HS256 secret Tokens accepts (256 bits).
const MinSecretLength = 32

// DefaultTokenTTL is how long an issued token is valid by default.
const DefaultTokenTTL = 30 * 24 * time.Hour

// Tokens issues and verifies the API's JWTs: HS256, the user id as
// subject, an expiry, and a stamp of the user's password hash, so that a
// change of password revokes every token issued before it (see Current).
type Tokens struct {
	secret   []byte
	ttl      time.Duration
	now      func() time.Time
	verified *verifiedTokens
	// parsed counts the tokens parsed and checked (tests read it).
	parsed atomic.Int64
}

// NewTokens returns tokens signed with secret (at least MinSecretLength
// bytes) and valid for ttl (DefaultTokenTTL if zero).
func NewTokens(secret []byte, ttl time.Duration) (*Tokens, error) {
	if len(secret) < MinSecretLength {
		return nil, fmt.Errorf("httpapi: JWT secret of %d bytes, want at least %d", len(secret), MinSecretLength)
	}
	if ttl < 0 {
		return nil, fmt.Errorf("httpapi: negative token lifetime %v", ttl)
	}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	return &Tokens{secret: secret, ttl: ttl, now: time.Now, verified: newVerifiedTokens()}, nil
}

const issuer = "conduit"

// tokenLeeway is the clock skew allowed when checking a token's times.
const tokenLeeway = time.Minute

// Claims are what a verified token says.
type Claims struct {
	jwt.RegisteredClaims
	// PasswordStamp is a keyed digest of the password hash the user had
	// when the token was issued (empty in tokens of older versions).
	PasswordStamp string `json:"pwd,omitempty"`
}

// Issue returns a token for the user, stamped with their current password
// hash.
func (t *Tokens) Issue(userID, passwordHash string) (string, error) {
	now := t.now()
	return jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   userID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
		},
		PasswordStamp: t.stamp(passwordHash),
	}).SignedString(t.secret)
}

// Verify returns the claims of a valid token, whose subject is the user
// id, or an error wrapping ErrInvalidToken. Check them against the user
// with Current. A token verified lately is not parsed again: its claims
// are remembered, and only its expiry is checked again.
func (t *Tokens) Verify(token string) (Claims, error) {
	if c, ok := t.verified.get(token); ok && t.now().Before(c.ExpiresAt.Add(tokenLeeway)) {
		return c, nil
	}
	t.parsed.Add(1)
	var claims Claims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(issuer),
		jwt.WithTimeFunc(t.now),
		jwt.WithLeeway(tokenLeeway))
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if claims.Subject == "" {
		return Claims{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	t.verified.put(token, claims)
	return claims, nil
}

// Current returns nil if the claims were issued for the password hash the
// user has now, else ErrRevokedToken.
func (t *Tokens) Current(c Claims, passwordHash string) error {
	if c.PasswordStamp == "" || !hmac.Equal([]byte(c.PasswordStamp), []byte(t.stamp(passwordHash))) {
		return ErrRevokedToken
	}
	return nil
}

// stamp returns a keyed digest of a password hash: it changes with every
// change of password (each hash has its own salt) and tells nothing of
// the hash to a reader of the token.
func (t *Tokens) stamp(passwordHash string) string {
	mac := hmac.New(sha256.New, t.secret)
	mac.Write([]byte("conduit password stamp\x00"))
	mac.Write([]byte(passwordHash))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}
