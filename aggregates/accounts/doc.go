// Package accounts is Conduit's accounts context: the User aggregate, its
// commands and events, and the rules for usernames, emails and passwords.
//
// A user registers with a username, an email and a password hash (the
// aggregate never sees a plain password), and may later change each of
// them and set a bio and an image; every change is its own event. The
// aggregate checks the shape of its input, and keeps usernames and emails
// unique across users by claiming UsernameKey and EmailKey (and releasing
// the keys given up) in the same atomic append as its events, with
// unique.Streams.ClaimWrite and ReleaseWrite stream writes; the
// application tells it at which version each claim stream is free
// (RegisterUser.UsernameClaimAt and the like) and answers a refused claim.
//
// A user may be deleted (DeleteUser): UserDeleted and the releases of
// their username and email are one append, and the state keeps their id
// and nothing personal (Deleted); a deleted user cannot be changed,
// deleted again or registered again under the same id.
//
// A user's email, password hash, bio and image are personal data: the
// events and the state's snapshots carry them in fields tagged
// cohort:"personal", with the user id as subject, so the runtime stores
// them encrypted with the user's key and actors.App.Forget makes them
// unreadable (they read as actors.ForgottenPlaceholder). The username is
// not marked: it is public, and released rather than forgotten.
package accounts
