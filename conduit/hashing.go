package conduit

import "context"

// hash hashes a password, or fails at once with ErrOverloaded when
// Config.MaxHashes hashes are already running or waiting.
func (a *App) hash(ctx context.Context, pass string) (string, error) {
	if !a.hashing.TryEnter() {
		return "", ErrOverloaded
	}
	defer a.hashing.Leave()
	return a.hasher.Hash(ctx, pass)
}

// verify checks a password against its hash (see password.Hasher.Verify),
// or fails at once with ErrOverloaded; see hash.
func (a *App) verify(ctx context.Context, pass, encoded string) error {
	if !a.hashing.TryEnter() {
		return ErrOverloaded
	}
	defer a.hashing.Leave()
	return a.hasher.Verify(ctx, pass, encoded)
}

// verifyNothing spends a verification's time (see
// password.Hasher.VerifyNothing), or fails at once with ErrOverloaded;
// see hash.
func (a *App) verifyNothing(ctx context.Context, pass string) error {
	if !a.hashing.TryEnter() {
		return ErrOverloaded
	}
	defer a.hashing.Leave()
	return a.hasher.VerifyNothing(ctx, pass)
}
