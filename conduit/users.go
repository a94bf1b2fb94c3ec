package conduit

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/validation"
	"github.com/cohort-dev/cohort/conduit/password"
	"github.com/cohort-dev/cohort/projectors"
)

// User is a user as its owner sees it (the password hash included: never
// show it to anyone).
type User = projectors.User

// Profile is a user as a viewer sees them.
type Profile = projectors.Profile

// Registration is the input of RegisterUser.
type Registration struct {
	Username string
	Email    string
	Password string
}

// RegisterUser registers a user with a unique username and email.
func (a *App) RegisterUser(ctx context.Context, r Registration) (User, error) {
	var errs validation.Errors
	accounts.ValidateUsername(&errs, r.Username)
	accounts.ValidateEmail(&errs, r.Email)
	accounts.ValidatePassword(&errs, r.Password)
	if err := errs.Err(); err != nil {
		return User{}, err
	}
	id := newID()
	cmd := accounts.RegisterUser{UserID: id, Username: r.Username, Email: r.Email}
	claims := []keyClaim{
		{"username", accounts.UsernameNamespace, accounts.UsernameKey(r.Username), &cmd.UsernameClaimAt},
		{"email", accounts.EmailNamespace, accounts.EmailKey(r.Email), &cmd.EmailClaimAt},
	}
	// Taken values are refused before the costly hash; the claims
	// themselves are made with the user's event.
	if err := a.claimVersions(ctx, id, claims); err != nil {
		return User{}, err
	}
	hash, err := a.hash(ctx, r.Password)
	if err != nil {
		return User{}, err
	}
	cmd.HashedPassword = hash
	res, err := a.dispatchClaiming(ctx, id, func() any { return cmd }, claims, a.registrationWaits)
	if err != nil {
		return User{}, err
	}
	return userOf(res)
}

// EmailKey returns the key under which Login looks an email up: emails
// that differ only in case or Unicode normalization name one account.
// Limits kept per account, such as those on failed logins, key on it.
func EmailKey(email string) string { return accounts.EmailKey(email) }

// Login returns the user with the email and password, or
// ErrInvalidCredentials.
func (a *App) Login(ctx context.Context, email, pass string) (User, error) {
	var errs validation.Errors
	if strings.TrimSpace(email) == "" {
		errs.Add("email", validation.Blank)
	}
	if pass == "" {
		errs.Add("password", validation.Blank)
	}
	if err := errs.Err(); err != nil {
		return User{}, err
	}
	u, err := a.read.UserByEmailKey(ctx, EmailKey(email))
	if errors.Is(err, projectors.ErrNotFound) || len(pass) > accounts.MaxPasswordLength {
		// As slow as a wrong password, so that timing does not tell
		// which emails are registered.
		if err := a.verifyNothing(ctx, pass); !errors.Is(err, password.ErrMismatch) {
			return User{}, err
		}
		return User{}, ErrInvalidCredentials
	}
	if err != nil {
		return User{}, classify(err)
	}
	switch err := a.verify(ctx, pass, u.PasswordHash); {
	case errors.Is(err, password.ErrMismatch):
		return User{}, ErrInvalidCredentials
	case err != nil:
		return User{}, fmt.Errorf("conduit: verify password of %s: %w", u.ID, err)
	}
	return u, nil
}

// User returns the user with the id, or ErrNotFound.
func (a *App) User(ctx context.Context, id string) (User, error) {
	u, err := a.read.UserByID(ctx, id)
	return u, classify(err)
}

// UserUpdate is the input of UpdateUser; nil fields stay as they are, and
// so does the password when it is empty (forms send it blank).
type UserUpdate struct {
	Username *string
	Email    *string
	Password *string
	Bio      *string
	Image    *string
}

// UpdateUser changes the user's details, keeping usernames and emails
// unique: exactly one of racing changes to the same value wins, the
// others are validation errors (the value is taken). It starts from the
// context's current user (WithCurrentUser) when that is the user with the
// id, else from the read model. With ToolOptions.EventualAccounts, the user
// must show in the read model already, or be the current user: a user who
// registered a moment ago may not be found.
func (a *App) UpdateUser(ctx context.Context, id string, u UserUpdate) (User, error) {
	// The user must exist: the aggregate would otherwise refuse the
	// command with a less useful error.
	if _, err := a.currentUser(ctx, id); err != nil {
		return User{}, err
	}
	if u.Password != nil && *u.Password == "" {
		u.Password = nil
	}
	cmd := accounts.UpdateUser{UserID: id, Username: u.Username, Email: u.Email, Bio: u.Bio, Image: u.Image}
	var errs validation.Errors
	var claims []keyClaim
	// The aggregate claims a key that differs from its own, which the read
	// model may not show yet: each one given may be claimed.
	if u.Username != nil {
		accounts.ValidateUsername(&errs, *u.Username)
		claims = append(claims, keyClaim{"username", accounts.UsernameNamespace, accounts.UsernameKey(*u.Username), &cmd.UsernameClaimAt})
	}
	if u.Email != nil {
		accounts.ValidateEmail(&errs, *u.Email)
		claims = append(claims, keyClaim{"email", accounts.EmailNamespace, accounts.EmailKey(*u.Email), &cmd.EmailClaimAt})
	}
	if u.Password != nil {
		accounts.ValidatePassword(&errs, *u.Password)
	}
	if u.Bio != nil {
		accounts.ValidateBio(&errs, *u.Bio)
	}
	if u.Image != nil {
		accounts.ValidateImage(&errs, *u.Image)
	}
	if err := errs.Err(); err != nil {
		return User{}, err
	}
	if u.Password != nil {
		hash, err := a.hash(ctx, *u.Password)
		if err != nil {
			return User{}, err
		}
		cmd.HashedPassword = &hash
	}
	// New keys are claimed, and the old ones released, with the user's
	// events: one durable commit. A key never claimed is claimed as a new
	// stream; one released before is read and claimed again only when
	// that is refused.
	res, err := a.dispatchClaiming(ctx, id, func() any { return cmd }, claims, a.accountWaits)
	if err != nil {
		return User{}, err
	}
	return userOf(res)
}

// userOf returns the user as an accounts command left them: the state in
// its result (see dispatchAccount). It is what the read model shows once
// the users projection has the command's events, which a strongly
// consistent dispatch waited for, so an answer built from it needs no
// read.
func userOf(res actors.Result) (User, error) {
	s, ok := actors.StateAs[*accounts.User](res)
	if !ok || s == nil {
		return User{}, fmt.Errorf("conduit: user %s: the command's result carries no user state (%T)", res.AggregateID, res.State)
	}
	return User{ID: s.ID, Username: s.Username, Email: s.Email, PasswordHash: s.HashedPassword, Bio: s.Bio, Image: s.Image}, nil
}

// Profile returns the profile of the user with the username as the
// viewer ("" for anonymous) sees it, or ErrNotFound.
func (a *App) Profile(ctx context.Context, viewer, username string) (Profile, error) {
	p, err := a.read.Profile(ctx, viewer, username)
	return p, classify(err)
}

// newID returns a new aggregate id: a time-ordered UUID.
func newID() string { return uuid.Must(uuid.NewV7()).String() }
