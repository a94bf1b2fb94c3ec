package accounts

import "github.com/cohort-dev/cohort/actors"

// UserRegistered: a user registered.
type UserRegistered struct {
	UserID         string `json:"user_id"`
	Username       string `json:"username"`
	Email          string `json:"email"`
	HashedPassword string `json:"hashed_password"`
}

// UsernameChanged: a user changed their username from Previous.
type UsernameChanged struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	Previous string `json:"previous"`
}

// UserEmailChanged: a user changed their email from Previous.
type UserEmailChanged struct {
	UserID   string `json:"user_id"`
	Email    string `json:"email"`
	Previous string `json:"previous"`
}

// UserPasswordChanged: a user changed their password.
type UserPasswordChanged struct {
	UserID         string `json:"user_id"`
	HashedPassword string `json:"hashed_password"`
}

// UserBioChanged: a user changed their bio.
type UserBioChanged struct {
	UserID string `json:"user_id"`
	Bio    string `json:"bio"`
}

// UserImageChanged: a user changed their image.
type UserImageChanged struct {
	UserID string `json:"user_id"`
	Image  string `json:"image"`
}

// events are the context's events. They are stored under their type's
// name (accounts.UserRegistered, ...), which must never change.
var events = []any{
	UserRegistered{}, UsernameChanged{}, UserEmailChanged{},
	UserPasswordChanged{}, UserBioChanged{}, UserImageChanged{},
}

// RegisterEvents names the context's events in r.
func RegisterEvents(r *actors.Registry) error { return r.Events(events...) }
