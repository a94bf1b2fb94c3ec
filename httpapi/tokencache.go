package httpapi

import "sync"

// verifiedTokensSize bounds the tokens whose verification Tokens keeps;
// when it is reached the remembered tokens are forgotten, all at once.
const verifiedTokensSize = 4096

// verifiedTokens remembers the claims of the tokens verified lately, so
// that a client's next request with the same token is not parsed and its
// signature not checked again: a token's claims never change, and only
// its expiry depends on when it is used, which Verify checks on every use.
// Revocation is not affected: it depends on the user's password now, and
// Current checks it on every request against the user read for it.
type verifiedTokens struct {
	mu     sync.Mutex
	claims map[string]Claims
}

func newVerifiedTokens() *verifiedTokens {
	return &verifiedTokens{claims: make(map[string]Claims)}
}

// get returns the claims of the token, if it was verified lately.
func (v *verifiedTokens) get(token string) (Claims, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.claims[token]
	return c, ok
}

// put remembers the claims of a verified token.
func (v *verifiedTokens) put(token string, c Claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.claims) >= verifiedTokensSize {
		clear(v.claims)
	}
	v.claims[token] = c
}
