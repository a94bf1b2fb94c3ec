// Package blog is Conduit's blog context: the Author, Article and Comment
// aggregates, their commands and events, and the rules for articles,
// tags, slugs and comments.
//
// An Author is the blog's view of a user (same id): it is created from a
// registered user, keeps the user's username, and is followed and
// unfollowed by other authors. An Article is published by an author under
// a slug, updated and deleted by that author only, and favorited by any
// author. A Comment is made on an article and deleted by its author only.
//
// Slugs are unique across articles; the application claims one (see
// Slugify) before it publishes, and the aggregate records it.
package blog
