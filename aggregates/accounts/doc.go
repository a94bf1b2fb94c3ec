// Package accounts is Conduit's accounts context: the User aggregate, its
// commands and events, and the rules for usernames, emails and passwords.
//
// A user registers with a username, an email and a password hash (the
// aggregate never sees a plain password), and may later change each of
// them and set a bio and an image; every change is its own event. The
// aggregate checks the shape of its input; uniqueness of usernames and
// emails across users is the application's job (it holds only within one
// aggregate here), using UsernameKey and EmailKey as the unique values.
package accounts
