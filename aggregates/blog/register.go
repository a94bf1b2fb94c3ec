package blog

import (
	"fmt"

	"github.com/cohort-dev/cohort/actors"
)

// Register registers the context's events, its aggregates and their
// command routes with app. The Comment aggregate is defined with the
// runtime's typed API (Comments); Author and Article still implement
// actors.Aggregate.
func Register(app *actors.App) error {
	if err := RegisterEvents(app.Registry()); err != nil {
		return err
	}
	for _, t := range []actors.AggregateType{
		{Name: AuthorAggregate, New: func() actors.Aggregate { return &Author{} }, SnapshotEvery: 100},
		{Name: ArticleAggregate, New: func() actors.Aggregate { return &Article{} }, SnapshotEvery: 100},
	} {
		if err := app.RegisterAggregate(t); err != nil {
			return err
		}
	}
	// Creating and publishing start new aggregates: no need to read their
	// streams first.
	for _, err := range []error{
		actors.Route(app, AuthorAggregate, func(c CreateAuthor) string { return c.AuthorID }, actors.Creating()),
		actors.Route(app, AuthorAggregate, func(c ChangeAuthorUsername) string { return c.AuthorID }),
		actors.Route(app, AuthorAggregate, func(c FollowAuthor) string { return c.AuthorID }),
		actors.Route(app, AuthorAggregate, func(c UnfollowAuthor) string { return c.AuthorID }),
		actors.Route(app, ArticleAggregate, func(c PublishArticle) string { return c.ArticleID }, actors.Creating()),
		actors.Route(app, ArticleAggregate, func(c UpdateArticle) string { return c.ArticleID }),
		actors.Route(app, ArticleAggregate, func(c DeleteArticle) string { return c.ArticleID }),
		actors.Route(app, ArticleAggregate, func(c FavoriteArticle) string { return c.ArticleID }),
		actors.Route(app, ArticleAggregate, func(c UnfavoriteArticle) string { return c.ArticleID }),
	} {
		if err != nil {
			return err
		}
	}
	return app.Register(Comments())
}

func commandName(cmd any) string { return fmt.Sprintf("%T", cmd) }
