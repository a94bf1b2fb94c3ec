package accounts

// RegisterUser registers a new user.
type RegisterUser struct {
	UserID         string
	Username       string
	Email          string
	HashedPassword string
}

// UpdateUser changes a user's details; nil fields are left unchanged.
type UpdateUser struct {
	UserID         string
	Username       *string
	Email          *string
	HashedPassword *string
	Bio            *string
	Image          *string
}
