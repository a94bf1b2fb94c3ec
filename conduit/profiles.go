package conduit

import (
	"context"

	"github.com/cohort-dev/cohort/aggregates/blog"
)

// Follow makes follower follow the user with the username and returns
// that user's profile.
func (a *App) Follow(ctx context.Context, follower, username string) (Profile, error) {
	return a.follow(ctx, follower, username, true, func(author string) any {
		return blog.FollowAuthor{AuthorID: author, FollowerID: follower}
	})
}

// Unfollow makes follower stop following the user with the username and
// returns that user's profile.
func (a *App) Unfollow(ctx context.Context, follower, username string) (Profile, error) {
	return a.follow(ctx, follower, username, false, func(author string) any {
		return blog.UnfollowAuthor{AuthorID: author, FollowerID: follower}
	})
}

// follow dispatches cmd for the author with the username and answers with
// the profile as read before it, following as the command left it: a
// FollowAuthor that succeeds leaves the follower following, whether it
// appended an event or found them following already, and an
// UnfollowAuthor not following. Reading the profile again would tell
// nothing more.
func (a *App) follow(ctx context.Context, follower, username string, following bool, cmd func(author string) any) (Profile, error) {
	p, err := a.Profile(ctx, follower, username)
	if err != nil {
		return Profile{}, err
	}
	if _, err := a.dispatch(ctx, cmd(p.ID), nil); err != nil {
		return Profile{}, err
	}
	p.Following = following
	return p, nil
}
