package accounts

import (
	"errors"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/aggregates/validation"
)

// Namespaces of the unique values a user claims (see
// unique.Streams.ClaimWrite):
// UsernameKey of usernames and EmailKey of emails, owned by user ids.
const (
	UsernameNamespace = "username"
	EmailNamespace    = "email"
)

// AggregateType names the User aggregate; its streams are
// "accounts.User-<id>".
const AggregateType = "accounts.User"

// Domain errors, wrapped by the runtime's ValidationError.
var (
	// ErrUserNotFound: the command is for a user that never registered,
	// or was deleted.
	ErrUserNotFound = errors.New("accounts: user not found")
	// ErrAlreadyRegistered: RegisterUser for a user that exists.
	ErrAlreadyRegistered = errors.New("accounts: user already registered")
)

// UserState is where a user is in their life.
type UserState string

// The states of a user. A user who never registered has no ID.
const (
	// Active: registered and not deleted (the zero value, as in
	// snapshots taken before users could be deleted).
	Active UserState = ""
	// Deleted: deleted (UserDeleted). The state keeps the id and nothing
	// personal: no name, email, password hash, bio or image.
	Deleted UserState = "deleted"
)

// User is the User aggregate's state.
type User struct {
	ID             string    `json:"id" cohort:"subject"`
	State          UserState `json:"state,omitempty"`
	Username       string    `json:"username"`
	Email          string    `json:"email" cohort:"personal"`
	HashedPassword string    `json:"hashed_password" cohort:"personal"`
	Bio            string    `json:"bio" cohort:"personal"`
	Image          string    `json:"image" cohort:"personal"`
	// UsernameClaim and EmailClaim are the versions at which the user
	// holds the claim streams of its username's and email's keys; 0 for
	// claims made before they were written with the user's events, which
	// are at version 1 (see held).
	UsernameClaim int64 `json:"username_claim,omitempty"`
	EmailClaim    int64 `json:"email_claim,omitempty"`

	streams *unique.Streams // names the claim streams
}

// NewUser returns a user yet to register, who claims their username and
// email in the claim streams streams names.
func NewUser(streams *unique.Streams) *User { return &User{streams: streams} }

// held returns the version of a claim stream the user holds, from the
// version its events recorded.
func held(claim int64) int64 { return max(claim, 1) }

// Execute implements actors.Aggregate.
func (u *User) Execute(cmd any) ([]any, error) {
	if u.streams == nil {
		return nil, errors.New("accounts: a User made without NewUser names no claim streams")
	}
	switch c := cmd.(type) {
	case RegisterUser:
		return u.register(c)
	case UpdateUser:
		return u.update(c)
	case DeleteUser:
		return u.delete(c)
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
	username, err := u.streams.ClaimWrite(UsernameNamespace, UsernameKey(c.Username), c.UserID, c.UsernameClaimAt)
	if err != nil {
		return nil, err
	}
	email, err := u.streams.ClaimWrite(EmailNamespace, EmailKey(c.Email), c.UserID, c.EmailClaimAt)
	if err != nil {
		return nil, err
	}
	return []any{
		UserRegistered{UserID: c.UserID, Username: c.Username, Email: c.Email, HashedPassword: c.HashedPassword,
			UsernameClaim: c.UsernameClaimAt + 1, EmailClaim: c.EmailClaimAt + 1},
		username, email,
	}, nil
}

// rekey returns the stream writes of a change of a unique value from
// from to to in namespace: claim to's key at the version at, release
// from's, which the user holds at version claim. It returns none when the
// keys are the same.
func (u *User) rekey(namespace string, key func(string) string, from, to string, at, claim int64) ([]any, error) {
	if key(from) == key(to) {
		return nil, nil
	}
	take, err := u.streams.ClaimWrite(namespace, key(to), u.ID, at)
	if err != nil {
		return nil, err
	}
	release, err := u.streams.ReleaseWrite(namespace, key(from), u.ID, held(claim))
	if err != nil {
		return nil, err
	}
	return []any{take, release}, nil
}

// update returns one event per field that changes, in a fixed order.
func (u *User) update(c UpdateUser) ([]any, error) {
	if u.ID == "" || u.State == Deleted {
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
	var evs, writes []any
	if c.Username != nil && *c.Username != u.Username {
		w, err := u.rekey(UsernameNamespace, UsernameKey, u.Username, *c.Username, c.UsernameClaimAt, u.UsernameClaim)
		if err != nil {
			return nil, err
		}
		ev := UsernameChanged{UserID: u.ID, Username: *c.Username, Previous: u.Username}
		if w != nil {
			ev.Claim = c.UsernameClaimAt + 1
		}
		evs, writes = append(evs, ev), append(writes, w...)
	}
	if c.Email != nil && *c.Email != u.Email {
		w, err := u.rekey(EmailNamespace, EmailKey, u.Email, *c.Email, c.EmailClaimAt, u.EmailClaim)
		if err != nil {
			return nil, err
		}
		ev := UserEmailChanged{UserID: u.ID, Email: *c.Email, Previous: u.Email}
		if w != nil {
			ev.Claim = c.EmailClaimAt + 1
		}
		evs, writes = append(evs, ev), append(writes, w...)
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
	return append(evs, writes...), nil
}

// delete returns the UserDeleted and the releases of the user's username
// and email, at the versions the user holds their claims.
func (u *User) delete(DeleteUser) ([]any, error) {
	if u.ID == "" || u.State == Deleted {
		return nil, ErrUserNotFound
	}
	username, err := u.streams.ReleaseWrite(UsernameNamespace, UsernameKey(u.Username), u.ID, held(u.UsernameClaim))
	if err != nil {
		return nil, err
	}
	email, err := u.streams.ReleaseWrite(EmailNamespace, EmailKey(u.Email), u.ID, held(u.EmailClaim))
	if err != nil {
		return nil, err
	}
	return []any{UserDeleted{UserID: u.ID}, username, email}, nil
}

// Apply implements actors.Aggregate.
func (u *User) Apply(ev any) {
	switch e := ev.(type) {
	case UserRegistered:
		u.ID, u.Username, u.Email, u.HashedPassword = e.UserID, e.Username, e.Email, e.HashedPassword
		u.UsernameClaim, u.EmailClaim = e.UsernameClaim, e.EmailClaim
	case UsernameChanged:
		if UsernameKey(e.Username) != UsernameKey(u.Username) {
			u.UsernameClaim = e.Claim
		}
		u.Username = e.Username
	case UserEmailChanged:
		if EmailKey(e.Email) != EmailKey(u.Email) {
			u.EmailClaim = e.Claim
		}
		u.Email = e.Email
	case UserPasswordChanged:
		u.HashedPassword = e.HashedPassword
	case UserBioChanged:
		u.Bio = e.Bio
	case UserImageChanged:
		u.Image = e.Image
	case UserDeleted:
		*u = User{ID: u.ID, State: Deleted, streams: u.streams}
	}
}
