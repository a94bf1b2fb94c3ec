// Package password hashes and verifies passwords with Argon2id
// (golang.org/x/crypto/argon2), the OWASP-recommended password hash.
//
// Hashes are encoded in the PHC string format,
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>", so each carries the
// parameters it was made with: changing the parameters affects new hashes
// only. Argon2id reads the whole password (there is no 72-byte limit as
// with bcrypt), so callers bound the length themselves.
//
// Hashing is deliberately slow and memory-hungry; a Hasher runs at most
// one hash per CPU at a time and makes other callers wait, so that a burst
// of registrations or logins cannot exhaust memory.
package password
