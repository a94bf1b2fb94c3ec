// Package processmanagers holds Conduit's workflows between contexts, as
// process managers on the actors runtime.
//
// AuthorFromUser keeps each user's blog author in step with the user:
// it creates the author when the user registers and renames it when the
// user's username changes. Register it with strong consistency, so that a
// strongly consistent registration returns only after the author exists.
package processmanagers
