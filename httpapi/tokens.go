package httpapi

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalidToken: the token is malformed, forged, expired or signed with
// another algorithm.
var ErrInvalidToken = errors.New("httpapi: invalid token")

// MinSecretLength is the shortest HS256 secret Tokens accepts (256 bits).
const MinSecretLength = 32

// DefaultTokenTTL is how long an issued token is valid by default.
const DefaultTokenTTL = 30 * 24 * time.Hour

// Tokens issues and verifies the API's JWTs: HS256, the user id as
// subject, an expiry.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// NewTokens returns tokens signed with secret (at least MinSecretLength
// bytes) and valid for ttl (DefaultTokenTTL if zero).
func NewTokens(secret []byte, ttl time.Duration) (*Tokens, error) {
	if len(secret) < MinSecretLength {
		return nil, fmt.Errorf("httpapi: JWT secret of %d bytes, want at least %d", len(secret), MinSecretLength)
	}
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return &Tokens{secret: secret, ttl: ttl, now: time.Now}, nil
}

const issuer = "conduit"

// Issue returns a token for the user.
func (t *Tokens) Issue(userID string) (string, error) {
	now := t.now()
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   userID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
	}).SignedString(t.secret)
}

// Verify returns the user id of a valid token, or an error wrapping
// ErrInvalidToken.
func (t *Tokens) Verify(token string) (string, error) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(issuer),
		jwt.WithTimeFunc(t.now),
		jwt.WithLeeway(time.Minute))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if claims.Subject == "" {
		return "", fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	return claims.Subject, nil
}
