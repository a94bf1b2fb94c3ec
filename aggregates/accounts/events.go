package accounts

import (
	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/unique"
)

// UserRegistered: a user registered.
type UserRegistered struct {
	UserID         string `json:"user_id" cohort:"subject"`
	Username       string `json:"username"`
	Email          string `json:"email" cohort:"personal"`
	HashedPassword string `json:"hashed_password" cohort:"personal"`
	// UsernameClaim and EmailClaim are the versions of the keys' claim
	// streams after the registration claimed them; 0 in events stored
	// before claims were written with the user's events (the claim
	// streams are then at version 1).
	UsernameClaim int64 `json:"username_claim,omitempty"`
	EmailClaim    int64 `json:"email_claim,omitempty"`
}

// UsernameChanged: a user changed their username from Previous.
type UsernameChanged struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	Previous string `json:"previous"`
	// Claim is the version of the new key's claim stream after the change
	// claimed it; 0 when the key did not change, or in events stored
	// before claims were written with the user's events.
	Claim int64 `json:"claim,omitempty"`
}

// UserEmailChanged: a user changed their email from Previous.
type UserEmailChanged struct {
	UserID   string `json:"user_id" cohort:"subject"`
	Email    string `json:"email" cohort:"personal"`
	Previous string `json:"previous" cohort:"personal"`
	// Claim is as UsernameChanged's.
	Claim int64 `json:"claim,omitempty"`
}

// UserPasswordChanged: a user changed their password.
type UserPasswordChanged struct {
	UserID         string `json:"user_id" cohort:"subject"`
	HashedPassword string `json:"hashed_password" cohort:"personal"`
}

// UserBioChanged: a user changed their bio.
type UserBioChanged struct {
	UserID string `json:"user_id" cohort:"subject"`
	Bio    string `json:"bio" cohort:"personal"`
}

// UserImageChanged: a user changed their image.
type UserImageChanged struct {
	UserID string `json:"user_id" cohort:"subject"`
	Image  string `json:"image" cohort:"personal"`
}

// UserDeleted: a user was deleted; their username and email were
// released with it.
type UserDeleted struct {
	UserID string `json:"user_id"`
}

// RegisterEvents names the context's events in r. The names are stored with
// every event and must never change.
func RegisterEvents(r *actors.Registry) error {
	for _, err := range []error{
		unique.RegisterEvents(r),
		actors.RegisterEvent[UserRegistered](r, "accounts.UserRegistered"),
		actors.RegisterEvent[UsernameChanged](r, "accounts.UsernameChanged"),
		actors.RegisterEvent[UserEmailChanged](r, "accounts.UserEmailChanged"),
		actors.RegisterEvent[UserPasswordChanged](r, "accounts.UserPasswordChanged"),
		actors.RegisterEvent[UserBioChanged](r, "accounts.UserBioChanged"),
		actors.RegisterEvent[UserImageChanged](r, "accounts.UserImageChanged"),
		actors.RegisterEvent[UserDeleted](r, "accounts.UserDeleted"),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
