package accounts

// RegisterUser registers a new user, claiming its username's and email's
// keys (UsernameKey, EmailKey) in the same append as its event.
type RegisterUser struct {
	UserID         string
	Username       string
	Email          string
	HashedPassword string
	// UsernameClaimAt and EmailClaimAt are the versions of the keys'
	// claim streams while the keys are free: 0 when never claimed (see
	// unique.Streams.ClaimWrite and unique.Claims.State).
	UsernameClaimAt int64
	EmailClaimAt    int64
}

// UpdateUser changes a user's details; nil fields are left unchanged. A
// new username or email whose key differs from the current one is claimed,
// and the current one released, in the same append as its event.
type UpdateUser struct {
	UserID         string
	Username       *string
	Email          *string
	HashedPassword *string
	Bio            *string
	Image          *string
	// UsernameClaimAt and EmailClaimAt are the versions of the new keys'
	// claim streams while the keys are free: 0 when never claimed.
	UsernameClaimAt int64
	EmailClaimAt    int64
}

// DeleteUser deletes a user: their username's and email's claims are
// released in the same append as its event, the user can no longer be
// changed, and their id is never registered again.
type DeleteUser struct {
	UserID string
}
