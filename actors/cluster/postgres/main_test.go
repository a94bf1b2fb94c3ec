package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	clusterpg "github.com/cohort-dev/cohort/actors/cluster/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

// template is the pgtest template holding the members table.
const template = "members"

func TestMain(m *testing.M) {
	if conn := os.Getenv(memberEnv); conn != "" {
		runMemberProcess(conn)
		return
	}
	pgtest.RegisterTemplate(template, func(ctx context.Context, connString string) error {
		pool, err := pgxpool.New(ctx, connString)
		if err != nil {
			return err
		}
		defer pool.Close()
		return clusterpg.Migrate(ctx, pool, "")
	})
	pgtest.Main(m)
}
