package blog

import (
	"errors"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/validation"
)

// AuthorAggregate names the Author aggregate; streams "blog.Author-<id>".
const AuthorAggregate = "blog.Author"

// ErrAuthorNotFound: the command is for an author that does not exist.
var ErrAuthorNotFound = errors.New("blog: author not found")

// Author is the Author aggregate's state.
type Author struct {
	ID        string          `json:"id"`
	UserID    string          `json:"user_id"`
	Username  string          `json:"username"`
	Followers map[string]bool `json:"followers,omitempty"`
}

// Execute implements actors.Aggregate.
func (a *Author) Execute(cmd any) ([]any, error) {
	if _, ok := cmd.(CreateAuthor); !ok && a.ID == "" {
		return nil, ErrAuthorNotFound
	}
	switch c := cmd.(type) {
	case CreateAuthor:
		if a.ID != "" {
			return nil, nil // created already: the workflow saw its event again
		}
		return []any{AuthorCreated{AuthorID: c.AuthorID, UserID: c.UserID, Username: c.Username}}, nil
	case ChangeAuthorUsername:
		if c.Username == a.Username {
			return nil, nil
		}
		return []any{AuthorUsernameChanged{AuthorID: a.ID, Username: c.Username}}, nil
	case FollowAuthor:
		if c.FollowerID == a.ID {
			return nil, validation.Field("profile", "cannot follow yourself")
		}
		if a.Followers[c.FollowerID] {
			return nil, nil
		}
		return []any{AuthorFollowed{AuthorID: a.ID, FollowerID: c.FollowerID}}, nil
	case UnfollowAuthor:
		if !a.Followers[c.FollowerID] {
			return nil, nil
		}
		return []any{AuthorUnfollowed{AuthorID: a.ID, FollowerID: c.FollowerID}}, nil
	}
	return nil, &actors.UnregisteredCommandError{Type: commandName(cmd)}
}

// Apply implements actors.Aggregate.
func (a *Author) Apply(ev any) {
	switch e := ev.(type) {
	case AuthorCreated:
		a.ID, a.UserID, a.Username = e.AuthorID, e.UserID, e.Username
	case AuthorUsernameChanged:
		a.Username = e.Username
	case AuthorFollowed:
		if a.Followers == nil {
			a.Followers = make(map[string]bool)
		}
		a.Followers[e.FollowerID] = true
	case AuthorUnfollowed:
		delete(a.Followers, e.FollowerID)
	}
}
