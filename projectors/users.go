package projectors

import (
	"github.com/jackc/pgx/v5"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/aggregates/accounts"
)

// UsersProjection is the "users" projection: one row per registered user,
// from the accounts events. Profiles read their username, bio and image
// from it. A deleted user's row is removed (UserDeleted), so the read
// model keeps nothing of theirs: their articles and comments show
// DeletedUsername.
type UsersProjection struct {
	register, username, email, password, bio, image, remove string
}

// NewUsersProjection returns the projection writing into schema.
func NewUsersProjection(schema string) *UsersProjection {
	p := &UsersProjection{
		register: `INSERT INTO {{schema}}.users (id, username, email, email_key, password_hash, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (id) DO NOTHING`,
		username: `UPDATE {{schema}}.users SET username = $2, updated_at = $3, projected_at = clock_timestamp() WHERE id = $1`,
		email: `UPDATE {{schema}}.users SET email = $2, email_key = $3, updated_at = $4, projected_at = clock_timestamp()
			WHERE id = $1`,
		password: `UPDATE {{schema}}.users SET password_hash = $2, updated_at = $3, projected_at = clock_timestamp() WHERE id = $1`,
		bio:      `UPDATE {{schema}}.users SET bio = $2, updated_at = $3, projected_at = clock_timestamp() WHERE id = $1`,
		image:    `UPDATE {{schema}}.users SET image = $2, updated_at = $3, projected_at = clock_timestamp() WHERE id = $1`,
		remove:   `DELETE FROM {{schema}}.users WHERE id = $1`,
	}
	sqlIn(schema, &p.register, &p.username, &p.email, &p.password, &p.bio, &p.image, &p.remove)
	return p
}

// Name implements Projection.
func (*UsersProjection) Name() string { return UsersName }

// DeletedUsername is the author name the read model shows on the articles
// and comments of a deleted user. No username can be spelled so (see
// accounts.ValidateUsername).
const DeletedUsername = "[deleted]"

// UsersName is the name of the users projection.
const UsersName = "users"

// Version implements Versioned: change it with the projection's code so
// that the stored generation is rebuilt at start-up.
func (*UsersProjection) Version() int64 { return 1 }

// Tables implements Projection.
func (*UsersProjection) Tables() []string { return []string{"users"} }

// Project implements Projection.
func (p *UsersProjection) Project(b *pgx.Batch, ev actors.Event) {
	at := ev.CreatedAt
	switch e := ev.Payload.(type) {
	case accounts.UserRegistered:
		b.Queue(p.register, e.UserID, e.Username, e.Email, accounts.EmailKey(e.Email), e.HashedPassword, at)
	case accounts.UsernameChanged:
		b.Queue(p.username, e.UserID, e.Username, at)
	case accounts.UserEmailChanged:
		b.Queue(p.email, e.UserID, e.Email, accounts.EmailKey(e.Email), at)
	case accounts.UserPasswordChanged:
		b.Queue(p.password, e.UserID, e.HashedPassword, at)
	case accounts.UserBioChanged:
		b.Queue(p.bio, e.UserID, e.Bio, at)
	case accounts.UserImageChanged:
		b.Queue(p.image, e.UserID, e.Image, at)
	case accounts.UserDeleted:
		b.Queue(p.remove, e.UserID)
	}
}
