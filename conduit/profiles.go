package conduit

import (
	"context"

	"github.com/cohort-dev/cohort/aggregates/blog"
)

// Follow makes follower follow the user with the username and returns
// that user's profile.
func (a *App) Follow(ctx context.Context, follower, username string) (Profile, error) {
	return a.follow(ctx, follower, username, func(author string) any {
		return blog.FollowAuthor{AuthorID: author, FollowerID: follower}
	})
}

// Unfollow makes follower stop following the user with the username and
// returns that user's profile.
func (a *App) Unfollow(ctx context.Context, follower, username string) (Profile, error) {
	return a.follow(ctx, follower, username, func(author string) any {
		return blog.UnfollowAuthor{AuthorID: author, FollowerID: follower}
	})
}

func (a *App) follow(ctx context.Context, follower, username string, cmd func(author string) any) (Profile, error) {
	p, err := a.Profile(ctx, follower, username)
	if err != nil {
		return Profile{}, err
	}
	if _, err := a.dispatch(ctx, cmd(p.ID), nil); err != nil {
		return Profile{}, err
	}
	p, err = a.read.ProfileByID(ctx, follower, p.ID)
	return p, classify(err)
}
