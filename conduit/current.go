package conduit

import "context"

type currentUserKey struct{}

// WithCurrentUser returns ctx carrying u as the user who makes the
// request, as its authentication read them from the read model: a use
// case acting for that user (UpdateUser) starts from u instead of reading
// the user again. Only a caller that read u for this request, an
// instant ago, should pass it; it never stands for the user after the
// request's own write.
func WithCurrentUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, currentUserKey{}, u)
}

// currentUser returns the user with the id: the request's current user
// (see WithCurrentUser) if that is them, else as the read model shows
// them, or ErrNotFound.
func (a *App) currentUser(ctx context.Context, id string) (User, error) {
	if u, ok := ctx.Value(currentUserKey{}).(User); ok && u.ID == id {
		return u, nil
	}
	return a.User(ctx, id)
}
