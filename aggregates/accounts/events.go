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

// RegisterEvents names the context's events in r. The names are stored with
// every event and must never change.
func RegisterEvents(r *actors.Registry) error {
	for _, err := range []error{
		actors.RegisterEvent[UserRegistered](r, "accounts.UserRegistered"),
		actors.RegisterEvent[UsernameChanged](r, "accounts.UsernameChanged"),
		actors.RegisterEvent[UserEmailChanged](r, "accounts.UserEmailChanged"),
		actors.RegisterEvent[UserPasswordChanged](r, "accounts.UserPasswordChanged"),
		actors.RegisterEvent[UserBioChanged](r, "accounts.UserBioChanged"),
		actors.RegisterEvent[UserImageChanged](r, "accounts.UserImageChanged"),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
