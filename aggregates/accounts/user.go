package accounts

import (
	"errors"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/validation"
)

// AggregateType names the User aggregate; its streams are
// "accounts.User-<id>".
const AggregateType = "accounts.User"

// Domain errors, wrapped by the runtime's ValidationError.
var (
	// ErrUserNotFound: the command is for a user that never registered.
	ErrUserNotFound = errors.New("accounts: user not found")
	// ErrAlreadyRegistered: RegisterUser for a user that exists.
	ErrAlreadyRegistered = errors.New("accounts: user already registered")
)

// User is the User aggregate's state.
type User struct {
	ID             string `json:"id"`
	Username       string `json:"username"`
	Email          string `json:"email"`
	HashedPassword string `json:"hashed_password"`
	Bio            string `json:"bio"`
	Image          string `json:"image"`
}

// Execute implements actors.Aggregate.
func (u *User) Execute(cmd any) ([]any, error) {
	switch c := cmd.(type) {
	case RegisterUser:
		return u.register(c)
	case UpdateUser:
		return u.update(c)
	}
	return nil, &actors.UnregisteredCommandError{Type: commandName(cmd)}
}

func (u *User) register(c RegisterUser) ([]any, error) {
	if u.ID != "" {
		return nil, ErrAlreadyRegistered
	}
	var errs validation.Errors
	ValidateUsername(&errs, c.Username)
	ValidateEmail(&errs, c.Email)
	if c.HashedPassword == "" {
		errs.Add("password", validation.Blank)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return []any{UserRegistered{UserID: c.UserID, Username: c.Username, Email: c.Email, HashedPassword: c.HashedPassword}}, nil
}

// update returns one event per field that changes, in a fixed order.
func (u *User) update(c UpdateUser) ([]any, error) {
	if u.ID == "" {
		return nil, ErrUserNotFound
	}
	var errs validation.Errors
	if c.Username != nil {
		ValidateUsername(&errs, *c.Username)
	}
	if c.Email != nil {
		ValidateEmail(&errs, *c.Email)
	}
	if c.HashedPassword != nil && *c.HashedPassword == "" {
		errs.Add("password", validation.Blank)
	}
	if c.Bio != nil {
		ValidateBio(&errs, *c.Bio)
	}
	if c.Image != nil {
		ValidateImage(&errs, *c.Image)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	var evs []any
	if c.Username != nil && *c.Username != u.Username {
		evs = append(evs, UsernameChanged{UserID: u.ID, Username: *c.Username, Previous: u.Username})
	}
	if c.Email != nil && *c.Email != u.Email {
		evs = append(evs, UserEmailChanged{UserID: u.ID, Email: *c.Email, Previous: u.Email})
	}
	if c.HashedPassword != nil && *c.HashedPassword != u.HashedPassword {
		evs = append(evs, UserPasswordChanged{UserID: u.ID, HashedPassword: *c.HashedPassword})
	}
	if c.Bio != nil && *c.Bio != u.Bio {
		evs = append(evs, UserBioChanged{UserID: u.ID, Bio: *c.Bio})
	}
	if c.Image != nil && *c.Image != u.Image {
		evs = append(evs, UserImageChanged{UserID: u.ID, Image: *c.Image})
	}
	return evs, nil
}

// Apply implements actors.Aggregate.
func (u *User) Apply(ev any) {
	switch e := ev.(type) {
	case UserRegistered:
		u.ID, u.Username, u.Email, u.HashedPassword = e.UserID, e.Username, e.Email, e.HashedPassword
	case UsernameChanged:
		u.Username = e.Username
	case UserEmailChanged:
		u.Email = e.Email
	case UserPasswordChanged:
		u.HashedPassword = e.HashedPassword
	case UserBioChanged:
		u.Bio = e.Bio
	case UserImageChanged:
		u.Image = e.Image
	}
}
