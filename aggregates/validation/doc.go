// Package validation holds the field errors that Conduit's aggregates and
// application layer return for invalid input, and the checks they share.
//
// An Errors value maps a field name ("username", "body", ...) to messages
// ("can't be blank"). It is an error; callers find it with errors.As and
// render it as RealWorld's {"errors":{field:[msg]}}.
package validation
